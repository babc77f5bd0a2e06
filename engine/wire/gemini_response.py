"""Gemini `generateContent` answer -> Anthropic message (non-streaming).

The whole answer is one `GenerateContentResponse`, the same shape as one stream event holding every
part: it goes through the stream translator (engine.wire.gemini_stream) and its events are folded
into the message, so a streamed answer and the same answer in one piece cannot differ. An error the
stream would send in-band (a Gemini error object, a blocked prompt, a failed finish reason) is raised
as a ProxyError with the status of its type.
"""

from __future__ import annotations

from typing import Any

import orjson
from cc_proxy.engine.errors import ProxyError
from cc_proxy.engine.wire.errors import status_for_error_type
from cc_proxy.engine.wire.gemini_stream import StreamTranslator
from cc_proxy.engine.wire.types import SSEEvent, TranslationContext


def translate_response(body: Any, ctx: TranslationContext) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ProxyError(502, "upstream answer is not a JSON object", "api_error")
    translator = StreamTranslator(ctx)
    events = translator.feed_response(body)
    events.extend(translator.finish_complete())
    return fold_events(events)


def fold_events(events: list[SSEEvent]) -> dict[str, Any]:
    """Anthropic stream events (from message_start to message_stop) -> the message they describe."""
    message: dict[str, Any] = {}
    content: list[dict[str, Any]] = []
    partial: dict[int, list[str]] = {}
    for event in events:
        data = orjson.loads(event.data)
        kind = data["type"]
        if kind == "error":
            error = data["error"]
            raise ProxyError(status_for_error_type(error["type"]), error["message"], error["type"])
        if kind == "message_start":
            message = data["message"]
        elif kind == "content_block_start":
            content.append(dict(data["content_block"]))
        elif kind == "content_block_delta":
            block, delta = content[data["index"]], data["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                block["signature"] = delta["signature"]
            elif delta["type"] == "input_json_delta":
                partial.setdefault(data["index"], []).append(delta["partial_json"])
        elif kind == "content_block_stop" and data["index"] in partial:
            content[data["index"]]["input"] = orjson.loads("".join(partial.pop(data["index"])))
        elif kind == "message_delta":
            message.update(data["delta"])
            message["usage"] = data["usage"]
    message["content"] = content
    return message
