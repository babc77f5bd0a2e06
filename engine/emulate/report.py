"""What the proxy emulated, reported in the answer as the Anthropic API reports it: the applied
`context_management` edits go on the message (JSON answers) or on the stream's `message_delta`."""

from __future__ import annotations

from typing import Any

import orjson
from cc_proxy.engine.wire.types import SSEEvent, TranslationContext


def report_in_message(message: dict[str, Any], ctx: TranslationContext) -> dict[str, Any]:
    if ctx.context_management is not None and message.get("type") == "message":
        message["context_management"] = dict(ctx.context_management)
    return message


def report_in_event(event: SSEEvent, ctx: TranslationContext) -> SSEEvent:
    """`message_delta` with the applied edits (other events pass as they are; called only when set)."""
    if event.event != "message_delta" or ctx.context_management is None:
        return event
    payload = orjson.loads(event.data)
    payload["context_management"] = dict(ctx.context_management)
    return SSEEvent(orjson.dumps(payload).decode(), event.event)
