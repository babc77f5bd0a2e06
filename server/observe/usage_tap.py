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


Facts = tuple[Usage | None, str | None]  # (usage, stop_reason)
_STOP = b'"stop_reason":"'


def message_usage(body: bytes) -> Facts:
    """Usage and stop reason of a whole (non-stream) Anthropic message. Its `usage` comes last in every
    answer the wires build, so only that tail is parsed; anything else falls back to the whole body."""
    at = body.rfind(b'"usage":')
    if at >= 0 and body.endswith(b"}"):
        try:
            usage = usage_from_anthropic(orjson.loads(body[at + 8 : -1]))
        except orjson.JSONDecodeError:
            usage = None
        if usage is not None:
            stop = body.rfind(_STOP, 0, at)
            end = body.find(b'"', stop + len(_STOP)) if stop >= 0 else -1
            reason = body[stop + len(_STOP) : end].decode("ascii", "replace") if end > 0 else None
            return usage, reason
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(message, dict):
        return None, None
    reason = message.get("stop_reason")
    return usage_from_anthropic(message.get("usage")), reason if isinstance(reason, str) else None


def stream_usage(start: bytes, delta: bytes | None) -> Facts:
    """Usage and stop reason of a stream from the chunk that opened it and the last chunk with a
    `message_delta`."""
    merged: dict[str, Any] = {}
    found = False
    reason: str | None = None
    for chunk, kind in ((start, "message_start"), (delta, "message_delta")):
        payload = _event_payload(chunk, kind) if chunk else None
        if payload is None:
            continue
        if kind == "message_delta":
            usage = payload.get("usage")
            stop = payload.get("delta")
            stop = stop.get("stop_reason") if isinstance(stop, dict) else None
            reason = stop if isinstance(stop, str) else None
        else:
            usage = _start_usage(payload)
        if isinstance(usage, dict):
            found = True
            merged.update({k: v for k, v in usage.items() if v is not None})
    return (usage_from_anthropic(merged) if found else None), reason


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
