"""Token usage of one answer and what it cost: pure values, read from the Anthropic-form `usage`
object every wire translates to, priced per million tokens.

`input` excludes cache reads and writes, as Anthropic counts it; `reasoning` is part of `output` when
an upstream reports it separately (OpenAI's reasoning_tokens), 0 otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PER_TOKEN = 1e-6  # prices are per million tokens


@dataclass(frozen=True, slots=True)
class Usage:
    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0
    estimated: bool = False  # the upstream reported none: the proxy's own count stands in


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens of each kind."""

    input: float
    output: float
    cache_read: float
    cache_write: float


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def usage_from_anthropic(usage: Any, *, estimated: bool = False, reasoning: int = 0) -> Usage | None:
    """An Anthropic `usage` object (a message's, or message_start's merged with message_delta's)."""
    if not isinstance(usage, Mapping):
        return None
    return Usage(
        input=_count(usage.get("input_tokens")),
        output=_count(usage.get("output_tokens")),
        cache_read=_count(usage.get("cache_read_input_tokens")),
        cache_write=_count(usage.get("cache_creation_input_tokens")),
        reasoning=reasoning,
        estimated=estimated,
    )


def cost_usd(usage: Usage | None, price: Price | None) -> float | None:
    """None when either is unknown: an unpriced model costs "unknown", never 0."""
    if usage is None or price is None:
        return None
    total = (
        usage.input * price.input
        + usage.output * price.output
        + usage.cache_read * price.cache_read
        + usage.cache_write * price.cache_write
    )
    return round(total * PER_TOKEN, 9)
