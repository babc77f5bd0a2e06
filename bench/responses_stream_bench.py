"""Benchmark (not a test) of the OpenAI Responses stream translator, next to the Chat Completions one.

The same answer as bench/openai_stream_bench.py (100 reasoning deltas, 300 text deltas of a few
characters, two tool calls of 52 argument fragments each) streamed in both dialects: as Responses
events (built with the openai SDK's types by tests/fakes/openai_responses.py: created, item
added/done, summary/text/argument deltas, completed) and as Chat Completions chunks. Measures
`StreamTranslator.feed` per upstream event and the same with SSE decoding and encoding around it.

    .venv/bin/python bench/responses_stream_bench.py [--runs 50]

Prints microseconds (median and p90 over runs).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from openai_stream_bench import report, timed, upstream_events  # noqa: E402

from cc_proxy.engine.profiles import BUILTIN_PROFILES  # noqa: E402
from cc_proxy.engine.snapshot import ApiKey, ResolvedModel, ResolvedProvider  # noqa: E402
from cc_proxy.engine.wire import openai, responses  # noqa: E402
from cc_proxy.engine.wire.sse import SSEDecoder, encode  # noqa: E402
from cc_proxy.engine.wire.types import SSEEvent, TranslationContext  # noqa: E402
from tests.fakes import openai_responses as R  # noqa: E402


def ctx(profile: str) -> TranslationContext:
    fmt = BUILTIN_PROFILES[profile].format
    provider = ResolvedProvider("p", fmt, "http://127.0.0.1:1/v1", ApiKey("none"), {}, BUILTIN_PROFILES[profile])
    counter = itertools.count()
    target = ResolvedModel("m", provider, "up-model", max_tokens=32000)
    return TranslationContext("claude", target, "claude", lambda p: f"{p}{next(counter)}", 1000)


def responses_events(n_reasoning: int = 100, n_text: int = 300, n_args: int = 50) -> list[SSEEvent]:
    reasoning = "".join(f" step {i}" for i in range(n_reasoning))
    text = "".join(f" word{i % 10}" for i in range(n_text))
    arguments = '{"command": "' + "ls -" * n_args + '"}'
    pieces: dict[str, list[str]] = {
        reasoning: [f" step {i}" for i in range(n_reasoning)],
        text: [f" word{i % 10}" for i in range(n_text)],
        arguments: ['{"command": "', *["ls -"] * n_args, '"}'],
    }
    answer = R.response(
        [
            R.reasoning("rs_bench", [reasoning], encrypted="gAAAAB" + "x" * 1200),
            R.message("msg_bench", text),
            R.function_call("fc_0", "call_0", "Bash", arguments),
            R.function_call("fc_1", "call_1", "Bash", arguments),
        ],
        usage_=R.usage(12000, 600, cached=11000, reasoning=200),
    )
    split: Callable[[str], list[str]] = lambda value: pieces[value]  # noqa: E731
    return [SSEEvent(chunk.split(b"data: ", 1)[1].rstrip().decode(), e.type) for e, chunk in zip(
        R.stream_events(answer, pieces=split), R.encode_events(R.stream_events(answer, pieces=split)), strict=True
    )]  # fmt: skip


def measure(label: str, module: Any, profile: str, events: list[SSEEvent], runs: int) -> None:
    raw = b"".join(encode(e) for e in events)
    sys.stdout.write(f"{label}: {len(events)} upstream events, {len(raw)} bytes\n")

    def translate_only() -> None:
        translator = module.StreamTranslator(ctx(profile))
        for event in events:
            translator.feed(event)
        translator.finish()
        assert translator.completed

    def decode_translate_encode() -> None:
        translator = module.StreamTranslator(ctx(profile))
        decoder = SSEDecoder()
        for start in range(0, len(raw), 4096):  # network-sized chunks
            for event in decoder.feed(raw[start : start + 4096]):
                for out in translator.feed(event):
                    encode(out)
        translator.finish()

    translate_only()
    report(f"  {label} StreamTranslator.feed per upstream event", timed(translate_only, runs), len(events))
    report(f"  {label} decode + feed + encode per upstream event", timed(decode_translate_encode, runs), len(events))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    measure("chat", openai, "openai", upstream_events(), args.runs)
    measure("responses", responses, "openai-responses", responses_events(), args.runs)


if __name__ == "__main__":
    main()
