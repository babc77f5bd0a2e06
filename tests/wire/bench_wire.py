"""Per-event cost of the SSE decoder, the encoder and the Anthropic relay on a typical stream.

Not a test (no timed assertions): run `python -m tests.wire.bench_wire` from the repository root.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from cc_proxy.engine.profiles import BUILTIN_PROFILES
from cc_proxy.engine.snapshot import ApiKey, ResolvedModel, ResolvedProvider
from cc_proxy.engine.wire.anthropic import AnthropicStreamRelay
from cc_proxy.engine.wire.sse import SSEDecoder, encode
from cc_proxy.engine.wire.types import TranslationContext
from tests.fakes import anthropic_stream as A


def _stream() -> list[bytes]:
    msg = A.message(
        A.thinking("Let me think about the file layout first. " * 25),
        A.text("Here is what I found in the repository, step by step. " * 40),
        A.tool_use("Edit", {"file_path": "/src/app.py", "old_string": "x = 1\n" * 30, "new_string": "x = 2\n" * 30}),
    )
    return A.message_stream(msg, pieces=100)


def _time(label: str, n_events: int, fn: Callable[[], object], rounds: int = 200) -> None:
    fn()
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(rounds):
            fn()
        best = min(best, (time.perf_counter() - t0) / rounds)
    print(f"{label:55s} {best / n_events * 1e6:6.2f} us/event")


def main() -> None:
    chunks = _stream()
    raw = b"".join(chunks)
    big = [raw[i : i + 4096] for i in range(0, len(raw), 4096)]
    n = len(chunks)
    print(f"{n} events, {len(raw)} bytes, {len(raw) / n:.0f} bytes/event")
    provider = ResolvedProvider("p", "anthropic", "http://x", ApiKey("none"), {}, BUILTIN_PROFILES["anthropic"])
    target = ResolvedModel("m", provider, None)

    def ctx(model: str) -> TranslationContext:
        return TranslationContext("m", target, model, lambda p: p)

    def decode(parts: list[bytes]) -> Callable[[], object]:
        def run() -> object:
            d = SSEDecoder()
            return [d.feed(c) for c in parts]

        return run

    def relay(model: str, parts: list[bytes]) -> Callable[[], object]:
        def run() -> object:
            r = AnthropicStreamRelay(ctx(model))
            return [r.feed(c) for c in parts]

        return run

    events = SSEDecoder().feed(raw)
    _time("SSEDecoder.feed, one chunk per event", n, decode(chunks))
    _time("SSEDecoder.feed, 4 KiB chunks", n, decode(big))
    _time("encode", n, lambda: [encode(e) for e in events])
    _time("AnthropicStreamRelay, same model, one chunk per event", n, relay(A.DEFAULT_MODEL, chunks))
    _time("AnthropicStreamRelay, model patched, one chunk per event", n, relay("claude-opus-5-5", chunks))
    _time("AnthropicStreamRelay, model patched, 4 KiB chunks", n, relay("claude-opus-5-5", big))


if __name__ == "__main__":
    main()
