"""One finished API request as data: built by the handler, then logged, counted and stored.

Only values from the config (route, rule, provider, alias, upstream model) and bounded facts (status,
error type, counts, times) are here: never a body, a header value other than the Claude Code session
and agent ids, or a key. Client-chosen text (the model name, the ids) is cut to a bounded length.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from cc_proxy.engine.decide import Decision
from cc_proxy.engine.prices import default_price
from cc_proxy.engine.usage import Price, Usage, cost_usd

MAX_TEXT = 120  # client-chosen text kept in a record (model name, session id)
_PRICE_CACHE_MAX = 512


@dataclass(slots=True)
class RequestRecord:
    request_id: str
    endpoint: str  # "messages", "count_tokens": a fixed name, never the raw path
    started_at: float  # time.time()
    client_model: str = ""
    stream: bool = False
    route: str = ""
    rule: str = ""
    provider: str = ""
    alias: str = ""
    upstream_model: str = ""
    configured_model: str | None = None  # the config's upstream model name (None: pass-through)
    fallback: str | None = None  # the alias that answered instead of the decided one
    status: int = 0
    error_type: str | None = None
    attempts: int = 0  # upstream requests sent: first attempts, retries and fallbacks
    usage: Usage | None = None
    stop_reason: str | None = None  # the answer's (end_turn, tool_use, max_tokens...)
    cost_usd: float | None = None
    latency_s: float = 0.0
    upstream_ttfb_s: float | None = None  # response headers of the answering attempt
    first_event_s: float | None = None  # the first event (stream) or whole answer in hand
    session_id: str | None = None
    agent_id: str | None = None
    client: str = ""  # user-agent family, e.g. "claude-cli"
    tried: tuple[tuple[str, str, str], ...] = ()  # (provider, alias, outcome) per upstream attempt


def clip(value: str | None) -> str | None:
    if value is None:
        return None
    return value[:MAX_TEXT] if value.isprintable() else "".join(c if c.isprintable() else "?" for c in value[:MAX_TEXT])


def client_family(user_agent: str | None) -> str:
    """`claude-cli/2.1.3 (external, cli)` -> `claude-cli`: the product token only, bounded."""
    if not user_agent:
        return ""
    token = user_agent.split("/", 1)[0].split(" ", 1)[0].strip().lower()
    return "".join(c for c in token[:40] if c.isalnum() or c in "-_.")


def describe(record: RequestRecord, decision: Decision) -> None:
    target = decision.target
    record.route = decision.route or ""
    record.rule = decision.rule_id or ""
    record.provider = target.provider.name
    record.alias = target.alias
    record.upstream_model = clip(target.upstream_model or decision.requested_model) or ""
    record.configured_model = target.upstream_model


class PriceBook:
    """The price of a target: its configured or resolved one, else the shipped default for the model
    name the client sent (pass-through targets), looked up once per name."""

    __slots__ = ("_by_name",)

    def __init__(self) -> None:
        self._by_name: dict[str, Price | None] = {}

    def price(self, decision: Decision) -> Price | None:
        target = decision.target
        if target.price_configured or target.upstream_model is not None:
            return target.price
        name = decision.requested_model
        by_name = self._by_name
        if name in by_name:
            return by_name[name]
        found = default_price(name)
        if len(by_name) < _PRICE_CACHE_MAX:  # bounded: client-chosen names
            by_name[name] = found
        return found

    def cost(self, decision: Decision, usage: Usage | None) -> float | None:
        return cost_usd(usage, self.price(decision))


def log_fields(record: RequestRecord, fields: dict[str, Any]) -> None:
    """The record's share of the request's log line."""
    usage = record.usage
    if usage is not None:
        fields["tokens_in"] = usage.input
        fields["tokens_out"] = usage.output
        fields["tokens_cache_read"] = usage.cache_read
        fields["tokens_cache_write"] = usage.cache_write
        if usage.reasoning:
            fields["tokens_reasoning"] = usage.reasoning
        fields["cost_usd"] = record.cost_usd
    if record.first_event_s is not None:
        fields["ttft_ms"] = round(record.first_event_s * 1000, 2)
    if record.upstream_ttfb_s is not None:
        fields["upstream_ttfb_ms"] = round(record.upstream_ttfb_s * 1000, 2)
    if record.attempts:
        fields["attempts"] = record.attempts
    if record.fallback is not None:
        fields["fallback"] = record.fallback


def now() -> float:
    return time.time()
