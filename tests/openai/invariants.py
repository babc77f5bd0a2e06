"""The Anthropic stream grammar every translated stream must obey (protocols.md 1.7)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cc_proxy.engine.wire.types import SSEEvent


def check_stream(events: Sequence[SSEEvent], *, cut: bool = False) -> list[dict[str, Any]]:
    """Assert the grammar; return the decoded payloads.

    message_start first (unless the stream is only an error); blocks 0, 1, 2... each started once and
    stopped once, one open at a time, deltas only into the open block of a matching type, a thinking
    block's signature_delta exactly once right before its stop; then ONE message_delta and message_stop,
    or an error event as the very last event (and no message_stop at all). `cut`: the upstream broke
    off (reliability U12), so the events are a valid prefix that ends anywhere, with neither.
    """
    payloads = [json.loads(e.data) for e in events]
    assert payloads, "no events"
    for event, payload in zip(events, payloads, strict=True):
        assert event.event == payload["type"], "SSE event name equals the JSON type"
    if cut:
        assert all(p["type"] not in ("message_stop", "error") for p in payloads), "a cut stream adds no end"
        body = payloads
    elif payloads[-1]["type"] == "error":
        assert "type" in payloads[-1]["error"] and "message" in payloads[-1]["error"]
        assert all(p["type"] not in ("message_stop", "error") for p in payloads[:-1])
        body = payloads[:-1]
        if not body:
            return payloads
    else:
        body = payloads
        assert [p["type"] for p in body[-2:]] == ["message_delta", "message_stop"]
        assert sum(p["type"] == "message_delta" for p in body) == 1
    assert body[0]["type"] == "message_start"
    assert sum(p["type"] == "message_start" for p in body) == 1
    open_index: int | None = None
    open_type = ""
    next_index = 0
    signed = False
    allowed = {"text": {"text_delta"}, "thinking": {"thinking_delta"}, "tool_use": {"input_json_delta"}}
    for p in body[1:]:
        kind = p["type"]
        if kind == "content_block_start":
            assert open_index is None, "two blocks open at once"
            assert p["index"] == next_index, "indexes 0, 1, 2... in start order"
            open_index, open_type, signed = p["index"], p["content_block"]["type"], False
            next_index += 1
        elif kind == "content_block_delta":
            assert p["index"] == open_index, "delta into a block that is not open"
            delta_type = p["delta"]["type"]
            if delta_type == "signature_delta":
                assert open_type == "thinking" and not signed
                signed = True
            else:
                assert not signed, "nothing after the signature"
                assert delta_type in allowed[open_type]
        elif kind == "content_block_stop":
            assert p["index"] == open_index, "stop of a block that is not open"
            if open_type == "thinking":
                assert signed, "a thinking block stops after exactly one signature_delta"
            open_index = None
        elif kind in ("message_delta", "message_stop"):
            assert open_index is None, "message ends with a block still open"
    return payloads
