"""Token usage read from what the client was sent, in the Anthropic form every wire translates to, so
any wire (present or future) is covered without telling the recorder anything.

A stream's usage is in `message_start` (input and cache tokens) and `message_delta` (output tokens,
cumulative, sometimes input too). The relay only keeps a reference to the chunk that carried each
(a substring test per chunk); they are decoded once, after the answer went out.
"""

from __future__ import annotations

from typing import Any

import orjson

from cc_proxy.engine.usage import Usage, usage_from_anthropic
from cc_proxy.engine.wire.sse import SSEDecoder

DELTA_MARK = b"message_delta"


def message_usage(body: bytes) -> Usage | None:
    """Usage of a whole (non-stream) Anthropic message. Its `usage` comes last in every answer the
    wires build, so only that tail is parsed; anything else falls back to the whole body."""
    at = body.rfind(b'"usage":')
    if at >= 0 and body.endswith(b"}"):
        try:
            return usage_from_anthropic(orjson.loads(body[at + 8 : -1]))
        except orjson.JSONDecodeError:
            pass
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return usage_from_anthropic(message.get("usage")) if isinstance(message, dict) else None


def stream_usage(start: bytes, delta: bytes | None) -> Usage | None:
    """Usage of a stream from the chunk that opened it and the last chunk with a `message_delta`."""
    merged: dict[str, Any] = {}
    found = False
    for chunk, kind in ((start, "message_start"), (delta, "message_delta")):
        payload = _event_payload(chunk, kind) if chunk else None
        if payload is None:
            continue
        usage = payload.get("usage") if kind == "message_delta" else _start_usage(payload)
        if isinstance(usage, dict):
            found = True
            merged.update({k: v for k, v in usage.items() if v is not None})
    return usage_from_anthropic(merged) if found else None


def _event_payload(chunk: bytes, kind: str) -> dict[str, Any] | None:
    """The JSON of the last `kind` event in `chunk`. The events the proxy sends have one `data:` line
    (its encoder's, and the Anthropic API's), read directly; anything else goes through the decoder."""
    at = chunk.rfind(b"event: " + kind.encode())
    if at >= 0:
        start = chunk.find(b"\ndata:", at)
        end = chunk.find(b"\n", start + 1) if start >= 0 else -1
        if end > 0 and chunk[end + 1 : end + 2] in (b"\n", b"\r", b""):
            try:
                payload = orjson.loads(chunk[start + 6 : end])
            except orjson.JSONDecodeError:
                payload = None
            if isinstance(payload, dict):
                return payload
    found: dict[str, Any] | None = None
    for event in SSEDecoder().feed(chunk):
        if event.event == kind:
            try:
                payload = orjson.loads(event.data)
            except orjson.JSONDecodeError:
                continue
            found = payload if isinstance(payload, dict) else found
    return found


def _start_usage(payload: dict[str, Any]) -> Any:
    message = payload.get("message")
    return message.get("usage") if isinstance(message, dict) else None
