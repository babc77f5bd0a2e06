"""Token usage read from what the client was sent, in the Anthropic form every wire translates to, so
any wire (present or future) is covered without telling the recorder anything.

A stream's usage is in `message_start` (input and cache tokens) and `message_delta` (output tokens,
cumulative, sometimes input too). The relay only keeps a reference to the chunk that carried each
(a substring test per chunk); they are decoded once, after the answer went out.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from cc_proxy.engine.tokens import TokenEstimator
from cc_proxy.engine.usage import Usage, usage_from_anthropic
from cc_proxy.engine.wire.sse import SSEDecoder
from cc_proxy.engine.wire.types import UsageNote

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


def noted(
    usage: Usage | None, note: UsageNote | None, message: bytes | None, estimator: TokenEstimator | None
) -> Usage | None:
    """`usage` with what the translator noted (engine.wire.types.UsageNote): the upstream's reasoning
    tokens, or, when the upstream reported none, the estimate flag and the output counted from the
    answer's content (a whole message; a stream's text is not kept, so its output stays the wire's 0)."""
    if usage is None or note is None or not (note.reasoning or note.estimated):
        return usage
    if not note.estimated:
        return replace(usage, reasoning=note.reasoning)
    output = usage.output
    if message is not None and estimator is not None and not output:
        try:
            content = orjson.loads(message).get("content")
        except (orjson.JSONDecodeError, AttributeError):
            content = None
        if isinstance(content, list):
            output = estimator.blocks(content)
    return replace(usage, output=output, estimated=True)


def stream_usage(start: bytes, delta: bytes | None) -> Facts:
    """Usage and stop reason of a stream from the chunk that opened it and the last chunk with a
    `message_delta`. The delta's counts are cumulative and win; message_start (input and cache counts)
    is read only for what the delta leaves out (the Anthropic API's and the translators' deltas carry
    all four, so usually it is not parsed at all)."""
    counts: list[int | None] = [None, None, None, None]
    reason: str | None = None
    payload = _event_payload(delta, _DELTA_EVENT) if delta else None
    if payload is not None:
        _fill(counts, payload.get("usage"))
        stop = payload.get("delta")
        stop = stop.get("stop_reason") if isinstance(stop, dict) else None
        reason = stop if isinstance(stop, str) else None
    if None in counts and start:
        payload = _event_payload(start, _START_EVENT)
        if payload is not None:
            _fill(counts, _start_usage(payload))
    if counts == [None, None, None, None]:
        return None, reason
    n = [c if c is not None and c > 0 else 0 for c in counts]
    return Usage(input=n[0], output=n[1], cache_read=n[2], cache_write=n[3]), reason


_KEYS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
_DELTA_EVENT = b"event: message_delta"
_START_EVENT = b"event: message_start"


def _fill(counts: list[int | None], usage: Any) -> None:
    """Counts still unknown, from `usage` (only ints count: null, text and bools are not counts)."""
    if not isinstance(usage, dict):
        return
    for i, key in enumerate(_KEYS):
        if counts[i] is None:
            value = usage.get(key)
            if type(value) is int:
                counts[i] = value


def _event_payload(chunk: bytes, marker: bytes) -> dict[str, Any] | None:
    """The JSON of the last event whose `event:` line is `marker` in `chunk`. The events the proxy
    sends have one `data:` line (its encoder's, and the Anthropic API's), read directly; anything else
    goes through the decoder."""
    at = chunk.rfind(marker)
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
    kind = marker[len(b"event: ") :].decode()
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
