"""Token estimate: what is counted, the per-block cache, and image sizes read from headers."""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import orjson
import pytest

from cc_proxy.engine.features import Features
from cc_proxy.engine.image_size import base64_image_size, image_tokens, tokens_for_size
from cc_proxy.engine.tokens import (
    MESSAGE_OVERHEAD,
    REQUEST_OVERHEAD,
    SERVER_TOOL_TOKENS,
    TOOL_OVERHEAD,
    TOOL_USE_PROMPT_TOKENS,
    TOOL_USE_PROMPT_TOKENS_FORCED,
    TokenEstimator,
)
from tests.conftest import claude_code_fixture


class CountingEncoder:
    """One token per whitespace-separated word; remembers what it was asked to encode."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, text: str) -> int:
        self.calls.append(text)
        return len(text.split())


LONG = "word " * 20  # 20 tokens, long enough to be cached


def test_counts_every_part_of_a_request() -> None:
    request: dict[str, Any] = {
        "system": [{"type": "text", "text": "a b c"}],
        "messages": [
            {"role": "user", "content": "d e"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "f g h", "signature": "sig"},
                    {"type": "redacted_thinking", "data": "x" * 40},
                    {"type": "text", "text": "i"},
                    {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "ls -la"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "content": [
                            {"type": "text", "text": "j k"},
                            {"type": "tool_result", "tool_use_id": "deep", "content": "l m n"},
                        ],
                    },
                    {"type": "tool_result", "tool_use_id": "t2", "content": "o"},
                ],
            },
        ],
        "tools": [
            {"name": "Bash", "description": "run a command", "input_schema": {"type": "object"}},
            {"type": "web_search_20250305", "name": "web_search"},
        ],
    }
    est = TokenEstimator(CountingEncoder())
    expected = (
        REQUEST_OVERHEAD
        + 3  # system
        + 3 * MESSAGE_OVERHEAD
        + 2  # "d e"
        + 3
        + 40 // 4
        + 1  # thinking, redacted (len/4), text
        + 1
        + 2  # tool_use: name + '{"command":"ls -la"}' (two words)
        + 2
        + 3
        + 1  # tool_result texts at any depth
        + TOOL_OVERHEAD
        + 1
        + 3
        + 1  # name, description, schema JSON
        + SERVER_TOOL_TOKENS
        + TOOL_USE_PROMPT_TOKENS
    )
    assert est.count(request) == expected
    forced = {**request, "tool_choice": {"type": "any"}}
    assert est.count(forced) == expected - TOOL_USE_PROMPT_TOKENS + TOOL_USE_PROMPT_TOKENS_FORCED
    assert est.count({**request, "tools": []}) == expected - (
        TOOL_OVERHEAD + 5 + SERVER_TOOL_TOKENS + TOOL_USE_PROMPT_TOKENS
    )


def test_system_as_string_and_unknown_blocks() -> None:
    est = TokenEstimator(CountingEncoder())
    assert est.count({"system": "a b", "messages": []}) == REQUEST_OVERHEAD + 2
    unknown = {"type": "search_result", "title": "t", "content": []}
    assert est.block(unknown) == 1  # its JSON text, one "word"


def test_cache_makes_the_second_count_free() -> None:
    enc = CountingEncoder()
    est = TokenEstimator(enc)
    request = {"system": LONG, "messages": [{"role": "user", "content": [{"type": "text", "text": LONG + "x"}]}]}
    first = est.count(request)
    calls = len(enc.calls)
    # A fresh copy of the same request (as the next turn's parsed body would be) costs no encoding.
    assert est.count(json.loads(json.dumps(request))) == first
    assert len(enc.calls) == calls


def test_cache_is_bounded_and_per_instance() -> None:
    enc = CountingEncoder()
    est = TokenEstimator(enc, max_entries=3)
    for i in range(10):
        est.text(f"{LONG} {i}")
    assert est.cache_size == 3
    est_chars = TokenEstimator(enc, max_chars=len(LONG) * 2 + 10)
    for i in range(5):
        est_chars.text(f"{LONG}{i}")
    assert est_chars.cache_size == 2
    assert TokenEstimator(enc).cache_size == 0  # no shared module-level cache


# --- images -------------------------------------------------------------------------------------------------


def png(width: int, height: int) -> bytes:
    return (
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I4sII", 13, b"IHDR", width, height) + b"\x08\x06\x00\x00\x00" + b"\0" * 64
    )


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\0" * 32


def jpeg(width: int, height: int, exif_bytes: int = 100) -> bytes:
    app1 = b"\xff\xe1" + struct.pack(">H", exif_bytes + 2) + b"E" * exif_bytes
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\0" * 9
    return b"\xff\xd8" + app1 + sof + b"\xff\xda" + b"\0" * 32


def webp_vp8x(width: int, height: int) -> bytes:
    body = b"VP8X" + struct.pack("<I", 10) + b"\0\0\0\0" + (width - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 100) + b"WEBP" + body + (height - 1).to_bytes(3, "little") + b"\0" * 16


def webp_vp8l(width: int, height: int) -> bytes:
    bits = (width - 1) | ((height - 1) << 14)
    return (
        b"RIFF"
        + struct.pack("<I", 100)
        + b"WEBPVP8L"
        + struct.pack("<I", 50)
        + b"\x2f"
        + struct.pack("<I", bits)
        + b"\0" * 16
    )


def webp_vp8(width: int, height: int) -> bytes:
    frame = b"\x9d\x01\x2a" + struct.pack("<HH", width, height)
    return b"RIFF" + struct.pack("<I", 100) + b"WEBPVP8 " + struct.pack("<I", 50) + b"\0\0\0" + frame + b"\0" * 16


@pytest.mark.parametrize(
    "data",
    [
        png(640, 480),
        gif(640, 480),
        jpeg(640, 480),
        jpeg(640, 480, exif_bytes=60000),
        webp_vp8x(640, 480),
        webp_vp8l(640, 480),
        webp_vp8(640, 480),
    ],
    ids=["png", "gif", "jpeg", "jpeg-big-exif", "webp-vp8x", "webp-vp8l", "webp-vp8"],
)
def test_base64_header_sizes(data: bytes) -> None:
    encoded = base64.b64encode(data + b"\0" * 300).decode()
    assert base64_image_size(encoded) == (640, 480)
    source = {"type": "base64", "media_type": "image/png", "data": encoded}
    assert image_tokens(source) == 410  # ceil(640 * 480 / 750)


def test_image_formula_resizes_and_caps() -> None:
    assert tokens_for_size(1000, 1000) == 1334
    assert tokens_for_size(3000, 2000) == 1534  # long edge 1568 then 1.15 MP
    assert tokens_for_size(200, 100) == 27
    assert image_tokens({"type": "url", "url": "https://x/y.png"}) == 1600
    assert image_tokens({"type": "base64", "data": base64.b64encode(b"not an image at all").decode()}) == 1600
    assert image_tokens({"type": "base64", "data": "!!!not base64"}) == 1600


def test_image_inside_tool_result_is_counted_by_size() -> None:
    est = TokenEstimator(CountingEncoder())
    image = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": base64.b64encode(png(750, 100)).decode()},
    }
    block = {"type": "tool_result", "tool_use_id": "t", "content": [image]}
    assert est.block(block) == 100


# --- the real encoder on real Claude Code requests -----------------------------------------------------------


def test_real_fixture_estimates_are_stable_and_cached() -> None:
    from cc_proxy.server.tokens import build_estimator

    est = build_estimator()
    body = json.loads(claude_code_fixture("say_hi.v2.1.332.body.json").read_text())
    first = est.count(body)
    assert 8000 < first < 14000  # ~52 KB of English and JSON Schema
    size = est.cache_size
    assert est.count(json.loads(json.dumps(body))) == first
    assert est.cache_size == size


def nested_body(depth: int, leaf: str) -> dict[str, Any]:
    """A body nested as deep as a JSON parser allows (orjson: 1024 levels), built as text."""
    raw = (
        '{"model":"m","messages":[{"role":"user","content":'
        + '[{"type":"tool_result","tool_use_id":"t","content":' * depth
        + leaf
        + "}]" * depth
        + "}]}"
    )
    body: dict[str, Any] = orjson.loads(raw)
    return body


def call_at_stack_depth(frames: int, fn: Any) -> Any:
    """Run `fn` with `frames` Python frames already on the stack, as inside a server handler."""
    return fn() if frames == 0 else call_at_stack_depth(frames - 1, fn)


def test_hostile_nesting_neither_recurses_nor_raises() -> None:
    body = nested_body(505, '[{"type":"image","source":{"type":"url","url":"u"}}]')
    est = TokenEstimator(CountingEncoder())
    tokens = call_at_stack_depth(300, lambda: est.count(body))
    assert tokens == REQUEST_OVERHEAD + MESSAGE_OVERHEAD  # below MAX_NESTING nothing is walked
    assert call_at_stack_depth(300, lambda: Features(body, {}, None).images) is False
    shallow = nested_body(3, '[{"type":"image","source":{"type":"url","url":"u"}}]')
    assert Features(shallow, {}, None).images is True
    assert est.count(shallow) == REQUEST_OVERHEAD + MESSAGE_OVERHEAD + 1600
