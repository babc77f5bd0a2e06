"""Benchmark (not a test) of the OpenAI-dialect translators.

Stream: a realistic answer (reasoning deltas, text deltas of a few characters as token streams send
them, two tool calls with argument fragments, finish chunk, usage chunk, [DONE]) as decoded SSE events;
measures `StreamTranslator.feed` per upstream event (target: under 20 us), and the same with SSE decoding
and encoding around it. Requests: `build_request` on real Claude Code bodies.

    .venv/bin/python bench/openai_stream_bench.py [--runs 50] [--shared ../shared]

Prints microseconds (median and p90 over runs).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cc_proxy.engine.profiles import BUILTIN_PROFILES  # noqa: E402
from cc_proxy.engine.snapshot import ApiKey, ResolvedModel, ResolvedProvider  # noqa: E402
from cc_proxy.engine.wire.openai import StreamTranslator, build_request  # noqa: E402
from cc_proxy.engine.wire.sse import SSEDecoder, encode  # noqa: E402
from cc_proxy.engine.wire.types import SSEEvent, TranslationContext  # noqa: E402

FIXTURES = (
    "bare_mode.v2.1.332.body.json",
    "say_hi.v2.1.332.body.json",
    "thinking_tool_result_followup.v2.1.332.body.json",
    "non_streaming_fallback.v2.1.197.body.json",
)


def target(profile: str) -> ResolvedModel:
    provider = ResolvedProvider("p", "openai", "http://127.0.0.1:1/v1", ApiKey("none"), {}, BUILTIN_PROFILES[profile])
    return ResolvedModel("m", provider, "up-model", max_tokens=32000)


def ctx(profile: str) -> TranslationContext:
    counter = itertools.count()
    return TranslationContext("claude", target(profile), "claude", lambda p: f"{p}{next(counter)}", 1000)


def upstream_events(n_reasoning: int = 100, n_text: int = 300, n_args: int = 50) -> list[SSEEvent]:
    def chunk(delta: dict[str, Any], finish: str | None = None, usage: Any = None) -> SSEEvent:
        body = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1735689600,
            "model": "deepseek-chat",
            "system_fingerprint": "fp_bench",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if usage is not None:
            body["usage"] = usage
        return SSEEvent(json.dumps(body, separators=(",", ":")))

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"reasoning_content": f" step {i}"}) for i in range(n_reasoning)]
    events += [chunk({"content": f" word{i % 10}"}) for i in range(n_text)]
    for call in range(2):
        events.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": call,
                            "id": f"call_{call}",
                            "type": "function",
                            "function": {"name": "Bash", "arguments": ""},
                        }
                    ]
                }
            )
        )
        events.append(chunk({"tool_calls": [{"index": call, "function": {"arguments": '{"command": "'}}]}))
        events += [chunk({"tool_calls": [{"index": call, "function": {"arguments": "ls -"}}]}) for _ in range(n_args)]
        events.append(chunk({"tool_calls": [{"index": call, "function": {"arguments": '"}'}}]}))
    events.append(chunk({}, finish="tool_calls"))
    usage = {
        "prompt_tokens": 12000,
        "completion_tokens": 600,
        "total_tokens": 12600,
        "prompt_tokens_details": {"cached_tokens": 11000},
    }
    events.append(SSEEvent(json.dumps({"id": "chatcmpl-bench", "choices": [], "usage": usage})))
    events.append(SSEEvent("[DONE]"))
    return events


def timed(fn: Any, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def report(label: str, samples: list[float], per: int = 1) -> None:
    us = sorted(s * 1e6 / per for s in samples)
    p90 = us[int(len(us) * 0.9) - 1] if len(us) >= 10 else us[-1]
    sys.stdout.write(f"{label:<58} median {statistics.median(us):8.2f} us   p90 {p90:8.2f} us\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--shared", default=str(REPO.parent / "shared"))
    args = parser.parse_args()

    events = upstream_events()
    raw = b"".join(encode(e) for e in events)
    sys.stdout.write(f"stream: {len(events)} upstream events, {len(raw)} bytes\n")

    def translate_only() -> None:
        translator = StreamTranslator(ctx("deepseek"))
        for event in events:
            translator.feed(event)
        translator.finish()

    def decode_translate_encode() -> None:
        translator = StreamTranslator(ctx("deepseek"))
        decoder = SSEDecoder()
        for start in range(0, len(raw), 4096):  # network-sized chunks
            for event in decoder.feed(raw[start : start + 4096]):
                for out in translator.feed(event):
                    encode(out)
        translator.finish()

    translate_only()
    report("StreamTranslator.feed per upstream event", timed(translate_only, args.runs), len(events))
    report("decode + feed + encode per upstream event", timed(decode_translate_encode, args.runs), len(events))

    fixtures = Path(args.shared) / "claude-code" / "fixtures"
    for name in FIXTURES:
        path = fixtures / name
        if not path.is_file():
            continue
        data = path.read_bytes()
        for profile in ("openai", "deepseek"):
            tgt = target(profile)

            def build(data: bytes = data, tgt: ResolvedModel = tgt) -> None:
                build_request(tgt, orjson.loads(data), {})  # a fresh parse each time, as in the server

            report(f"build_request {name[:34]} ({profile})", timed(build, args.runs))


if __name__ == "__main__":
    main()
