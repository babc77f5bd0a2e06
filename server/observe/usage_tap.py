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
        if not chunk:
            continue
        for event in SSEDecoder().feed(chunk):
            if event.event != kind:
                continue
            try:
                payload = orjson.loads(event.data)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(payload, dict):
                continue
            usage = payload.get("usage") if kind == "message_delta" else _start_usage(payload)
            if isinstance(usage, dict):
                found = True
                merged.update({k: v for k, v in usage.items() if v is not None})
    return usage_from_anthropic(merged) if found else None


def _start_usage(payload: dict[str, Any]) -> Any:
    message = payload.get("message")
    return message.get("usage") if isinstance(message, dict) else None
