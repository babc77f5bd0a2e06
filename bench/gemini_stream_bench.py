"""Benchmark (not a test) of the Gemini translators.

Stream: a realistic answer as Gemini streams it (thought-summary parts, text parts of a few words as
Gemini sends them, two whole `functionCall` parts, the first with a thoughtSignature, `usageMetadata`
on every event, `finishReason` on the last) as decoded SSE events; measures `StreamTranslator.feed` per
upstream event (target: under 10 us), and the same with SSE decoding and encoding around it. Requests:
`build_request` on real Claude Code bodies (tests/fixtures/claude-code).

    .venv/bin/python bench/gemini_stream_bench.py [--runs 50]

Prints microseconds (median and p90 over runs).
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import sys
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.openai_stream_bench import report, timed  # noqa: E402
from cc_proxy.engine.profiles import BUILTIN_PROFILES  # noqa: E402
from cc_proxy.engine.snapshot import ApiKey, ResolvedModel, ResolvedProvider  # noqa: E402
from cc_proxy.engine.wire.gemini import StreamTranslator, build_request  # noqa: E402
from cc_proxy.engine.wire.sse import SSEDecoder, encode  # noqa: E402
from cc_proxy.engine.wire.types import SSEEvent, TranslationContext  # noqa: E402

FIXTURES = (
    "bare_mode.v2.1.332.body.json",
    "say_hi.v2.1.332.body.json",
    "thinking_tool_result_followup.v2.1.332.body.json",
    "non_streaming_fallback.v2.1.197.body.json",
)


def target(profile: str = "gemini") -> ResolvedModel:
    provider = ResolvedProvider("g", "gemini", "http://127.0.0.1:1", ApiKey("none"), {}, BUILTIN_PROFILES[profile])
    return ResolvedModel("m", provider, "gemini-2.5-pro", max_tokens=32000)


def ctx() -> TranslationContext:
    counter = itertools.count()
    return TranslationContext("claude", target(), "claude", lambda p: f"{p}{next(counter)}", 1000)


def upstream_events(n_thoughts: int = 20, n_text: int = 300) -> list[SSEEvent]:
    usage = {
        "promptTokenCount": 12000,
        "cachedContentTokenCount": 11000,
        "candidatesTokenCount": 1,
        "totalTokenCount": 12001,
    }

    def chunk(parts: list[dict[str, Any]], finish: str | None = None) -> SSEEvent:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        body = {
            "candidates": [candidate],
            "usageMetadata": usage,
            "modelVersion": "gemini-2.5-pro",
            "responseId": "bEnchR3sp0nse1d",
        }
        return SSEEvent(json.dumps(body, separators=(",", ":")))

    signature = base64.b64encode(bytes(range(256)) * 2).decode()  # ~700 characters, like real ones
    events = [
        chunk([{"text": f"**Planning step {i}** I consider the file layout.", "thought": True}])
        for i in range(n_thoughts)
    ]
    events += [chunk([{"text": f" word{i % 10} and"}]) for i in range(n_text)]
    events.append(
        chunk([{"functionCall": {"name": "Bash", "args": {"command": "ls -la src"}}, "thoughtSignature": signature}])
    )
    events.append(chunk([{"functionCall": {"name": "Read", "args": {"file_path": "src/app.py"}}}], finish="STOP"))
    return events


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()

    events = upstream_events()
    raw = b"".join(encode(e) for e in events)
    sys.stdout.write(f"stream: {len(events)} upstream events, {len(raw)} bytes\n")

    def translate_only() -> None:
        translator = StreamTranslator(ctx())
        for event in events:
            translator.feed(event)
        translator.finish()

    def decode_translate_encode() -> None:
        translator = StreamTranslator(ctx())
        decoder = SSEDecoder()
        for start in range(0, len(raw), 4096):  # network-sized chunks
            for event in decoder.feed(raw[start : start + 4096]):
                for out in translator.feed(event):
                    encode(out)
        translator.finish()

    translate_only()
    report("StreamTranslator.feed per upstream event", timed(translate_only, args.runs), len(events))
    report("decode + feed + encode per upstream event", timed(decode_translate_encode, args.runs), len(events))

    fixtures = REPO / "tests" / "fixtures" / "claude-code"
    for name in FIXTURES:
        data = (fixtures / name).read_bytes()
        tgt = target()

        def build(data: bytes = data, tgt: ResolvedModel = tgt) -> None:
            build_request(tgt, orjson.loads(data), {})  # a fresh parse each time, as in the server

        report(f"build_request {name[:34]} (gemini)", timed(build, args.runs))


if __name__ == "__main__":
    main()
