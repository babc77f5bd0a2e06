"""A complete Anthropic message replayed as the stream the Anthropic API would have sent for it.

For upstreams that answer a `stream: true` request with one JSON body (some compatible servers ignore
`stream`): the client asked for events, and Claude Code only speaks streams. The events follow the
documented grammar (protocols.md 1.7): message_start with empty content, each block started, filled by
its deltas and stopped in order, then message_delta with the stop reason and the final usage, then
message_stop. Accumulated by the SDK, they give back the message itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from cc_proxy.engine.wire.sse import encode
from cc_proxy.engine.wire.types import SSEEvent

# Blocks whose input arrives as input_json_delta after a start with `"input": {}`.
_TOOL_CALLS = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
# Known only at the end: in message_delta, null in message_start.
_ENDING = ("stop_reason", "stop_sequence", "stop_details")


def replay(message: dict[str, Any]) -> bytes:
    """SSE bytes of the whole stream for `message` (an Anthropic `type: message` object)."""
    return b"".join(encode(SSEEvent(orjson.dumps(payload).decode(), payload["type"])) for payload in events(message))


def events(message: dict[str, Any]) -> Iterator[dict[str, Any]]:
    raw_usage = message.get("usage")
    usage: dict[str, Any] = raw_usage if isinstance(raw_usage, dict) else {}
    start = {k: v for k, v in message.items() if k not in _ENDING and k not in ("content", "usage")}
    start_usage = {k: v for k, v in usage.items() if k != "output_tokens"}
    yield {
        "type": "message_start",
        "message": {
            **start,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {**start_usage, "output_tokens": 0},
        },
    }
    content = message.get("content")
    for index, block in enumerate(content if isinstance(content, list) else []):
        yield from _block(index, block if isinstance(block, dict) else {"type": "text", "text": str(block)})
    delta = {"stop_reason": message.get("stop_reason"), "stop_sequence": message.get("stop_sequence")}
    if "stop_details" in message:  # e.g. a refusal's category: it travels with the stop reason
        delta["stop_details"] = message["stop_details"]
    yield {
        "type": "message_delta",
        "delta": delta,
        "usage": {**usage, "output_tokens": usage.get("output_tokens", 0)},
    }
    yield {"type": "message_stop"}


def _block(index: int, block: dict[str, Any]) -> Iterator[dict[str, Any]]:
    kind = block.get("type")
    if kind == "text":
        yield _start(index, {"type": "text", "text": ""})
        for citation in block.get("citations") or ():
            yield _delta(index, {"type": "citations_delta", "citation": citation})
        if block.get("text"):
            yield _delta(index, {"type": "text_delta", "text": block["text"]})
    elif kind == "thinking":
        yield _start(index, {"type": "thinking", "thinking": "", "signature": ""})
        if block.get("thinking"):
            yield _delta(index, {"type": "thinking_delta", "thinking": block["thinking"]})
        yield _delta(index, {"type": "signature_delta", "signature": block.get("signature", "")})
    elif kind in _TOOL_CALLS:
        yield _start(index, {**block, "input": {}})
        yield _delta(index, {"type": "input_json_delta", "partial_json": orjson.dumps(block.get("input", {})).decode()})
    else:  # redacted_thinking, tool results of server tools...: complete in their start, no deltas
        yield _start(index, block)
    yield {"type": "content_block_stop", "index": index}


def _start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def _delta(index: int, delta: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}
