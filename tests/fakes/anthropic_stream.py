"""Anthropic Messages answers as the API sends them: a message body, and its SSE stream (protocols.md 1.7).

Build the final message from blocks, then derive the stream from it, so a test can check a stream
against the message it must accumulate to:

    msg = message(thinking("Plan."), text("Hello there"), tool_use("Read", {"file_path": "a.py"}))
    chunks = message_stream(msg)          # one raw SSE chunk per event, ends with message_stop
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from tests.fakes.responses import Json, Response, Stream, sse_chunks
from tests.fakes.server import RecordedRequest

DEFAULT_MODEL = "claude-sonnet-4-5-20250929"


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def thinking(value: str, signature: str = "EqQBCgIYAhIkZmFrZS1zaWduYXR1cmU=") -> dict[str, Any]:
    return {"type": "thinking", "thinking": value, "signature": signature}


def redacted_thinking(data: str = "EmwKAhgBEgy3va3pzix/LafPsn4a") -> dict[str, Any]:
    return {"type": "redacted_thinking", "data": data}


def tool_use(name: str, input: dict[str, Any], id: str = "toolu_01FakeToolUse0001") -> dict[str, Any]:
    return {"type": "tool_use", "id": id, "name": name, "input": input}


def message(
    *blocks: dict[str, Any],
    model: str = DEFAULT_MODEL,
    id: str = "msg_01FakeMessage000001",
    stop_reason: str | None = None,
    stop_sequence: str | None = None,
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A non-streaming Messages answer; stop_reason defaults to tool_use/end_turn from the blocks."""
    if stop_reason is None:
        stop_reason = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
    return {
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": list(blocks),
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage
        or {"input_tokens": 12, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 7},
    }


def split(value: str, pieces: int) -> list[str]:
    """`value` cut into at most `pieces` non-empty parts (one empty part for an empty string)."""
    if not value:
        return [""]
    size = max(1, -(-len(value) // pieces))
    return [value[i : i + size] for i in range(0, len(value), size)]


def _block_events(index: int, block: dict[str, Any], pieces: int) -> list[dict[str, Any]]:
    kind = block["type"]
    if kind == "text":
        start: dict[str, Any] = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in split(block["text"], pieces)]
    elif kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": p} for p in split(block["thinking"], pieces)]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    elif kind in ("tool_use", "server_tool_use"):
        start = {**block, "input": {}}
        args = json.dumps(block["input"], ensure_ascii=False) if block["input"] else ""
        frags = [""] + (split(args, pieces) if args else [])
        deltas = [{"type": "input_json_delta", "partial_json": f} for f in frags]
    else:  # redacted_thinking, *_tool_result: complete in the start event, no deltas
        start, deltas = block, []
    return [
        {"type": "content_block_start", "index": index, "content_block": start},
        *({"type": "content_block_delta", "index": index, "delta": d} for d in deltas),
        {"type": "content_block_stop", "index": index},
    ]


def message_events(msg: dict[str, Any], *, pieces: int = 3, ping: bool = True) -> list[dict[str, Any]]:
    """The event payloads (`type` = SSE event name) that stream `msg`; a ping after the first block start."""
    usage = dict(msg["usage"])
    start_usage = {k: v for k, v in usage.items() if k != "output_tokens"} | {"output_tokens": 1}
    head = {**msg, "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": head}]
    for i, block in enumerate(msg["content"]):
        block_events = _block_events(i, block, pieces)
        events += block_events[:1]
        if ping and i == 0:
            events.append({"type": "ping"})
        events += block_events[1:]
    if ping and not msg["content"]:
        events.append({"type": "ping"})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": msg["stop_reason"], "stop_sequence": msg["stop_sequence"]},
            "usage": {"output_tokens": usage.get("output_tokens", 0)},
        }
    )
    events.append({"type": "message_stop"})
    return events


def message_stream(msg: dict[str, Any], *, pieces: int = 3, ping: bool = True) -> list[bytes]:
    """Raw SSE bytes streaming `msg`, one chunk per event."""
    return sse_chunks([(e["type"], e) for e in message_events(msg, pieces=pieces, ping=ping)])


def error_event(error_type: str = "overloaded_error", message: str = "Overloaded") -> bytes:
    """An in-band `event: error` chunk."""
    return sse_chunks([("error", {"type": "error", "error": {"type": error_type, "message": message}})])[0]


def auto(msg: dict[str, Any], *, echo_model: bool = False, **stream_kw: Any) -> Callable[[RecordedRequest], Response]:
    """A responder answering `msg` as a stream when the request says `stream: true`, else as JSON.

    `echo_model` puts the request's `model` into the answer, as the real API does.
    """

    def respond(req: RecordedRequest) -> Response:
        body = req.json if isinstance(req.json, dict) else {}
        answer = {**msg, "model": body.get("model", msg["model"])} if echo_model else msg
        if body.get("stream"):
            return Stream(message_stream(answer, **stream_kw), headers={"request-id": "req_fake_stream"})
        return Json(answer, headers={"request-id": "req_fake_json"})

    return respond


def messages_sequence(*msgs: dict[str, Any]) -> Sequence[Callable[[RecordedRequest], Response]]:
    """One `auto` responder per message: for `FakeUpstream.add(path, *messages_sequence(...))`."""
    return [auto(m) for m in msgs]
