"""Context windows (`models.*.context`): a request goes only where its input fits.

The input estimate must be below the target's context; otherwise the first fallback, then the
`longContext` route's targets, that it fits is used instead, or the request gets the 400 the Anthropic
API gives (`prompt is too long: N tokens > M maximum`), which Claude Code answers by compacting. Once
a target is chosen, `max_tokens` is clamped to what its context leaves. Tokens are counted only when a
context is configured and the request's size does not already show that it fits (Features.tokens_below).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cc_proxy.engine.errors import ProxyError
from cc_proxy.engine.features import Features
from cc_proxy.engine.snapshot import ResolvedModel, Snapshot

LONG_CONTEXT_ROUTE = "longContext"
# Anthropic's wording, also what engine.wire.errors makes of any upstream's context-overflow error.
_TOO_LONG = re.compile(r"^prompt is too long: (\d+) tokens > (\d+) maximum")


@dataclass(frozen=True, slots=True)
class Fit:
    target: ResolvedModel
    fallbacks: tuple[ResolvedModel, ...]
    reason: str | None  # None: the chosen target fits (or no context is configured)


def fits(model: ResolvedModel, features: Features) -> bool:
    """The input estimate is below the model's context (counted only when its size does not settle it)."""
    return model.context is None or features.tokens_below(model.context)


def too_long(tokens: int, context: int) -> ProxyError:
    return ProxyError(400, f"prompt is too long: {tokens} tokens > {context} maximum", should_retry=False)


def fit(
    snapshot: Snapshot, features: Features, target: ResolvedModel, fallbacks: tuple[ResolvedModel, ...]
) -> Fit:
    """The target and fallbacks the request's input fits; raises the 400 when none does."""
    long_context = _long_context(snapshot)
    if target.context is None and all(m.context is None for m in (*fallbacks, *long_context)):
        return Fit(target, fallbacks, None)  # nothing to check: no count
    if fits(target, features):
        return Fit(target, tuple(m for m in fallbacks if fits(m, features)), None)
    assert target.context is not None
    tokens = features.tokens
    candidates = list(fallbacks)
    candidates += [m for m in long_context if m.alias not in {c.alias for c in candidates} | {target.alias}]
    for i, model in enumerate(candidates):
        if fits(model, features):
            rest = tuple(m for m in candidates[i + 1 :] if fits(m, features))
            room = f"context {model.context}" if model.context is not None else "no context limit"
            why = f"~{tokens} input tokens exceed {target.alias}'s context {target.context}: {model.alias} ({room})"
            return Fit(model, rest, why)
    raise too_long(tokens, target.context)


def _long_context(snapshot: Snapshot) -> tuple[ResolvedModel, ...]:
    route = snapshot.routes.get(LONG_CONTEXT_ROUTE)
    if route is None:
        return ()
    aliases = (route.model, *route.fallbacks)
    return tuple(snapshot.models[a] for a in aliases if a in snapshot.models)


def clamp_max_tokens(request: dict[str, Any], target: ResolvedModel, features: Features) -> None:
    """`max_tokens` no larger than what the target's context leaves after the input (in place)."""
    if target.context is None:
        return
    asked = request.get("max_tokens")
    if not isinstance(asked, int) or isinstance(asked, bool) or features.tokens_below(target.context - asked):
        return
    left = target.context - features.tokens
    if 0 < left < asked:
        request["max_tokens"] = left


def overflow_tokens(error_body: Mapping[str, Any]) -> int | None:
    """N of an Anthropic `prompt is too long: N tokens > M maximum` error, or None for other errors
    (-1: a context overflow without a count)."""
    error = error_body.get("error")
    message = error.get("message") if isinstance(error, Mapping) else None
    if not isinstance(message, str) or not message.startswith("prompt is too long"):
        return None
    m = _TOO_LONG.match(message)
    return int(m.group(1)) if m else -1


def roomier(target: ResolvedModel, fallbacks: tuple[ResolvedModel, ...], needed: int) -> ResolvedModel | None:
    """The first fallback with a larger configured context than `target` has and than `needed` tokens
    (-1: unknown), for an upstream that said the prompt is too long."""
    floor = max(needed, target.context or 0)
    if floor <= 0:
        return None
    return next((m for m in fallbacks if m.context is not None and m.context > floor), None)
