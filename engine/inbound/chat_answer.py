"""Anthropic message -> OpenAI `chat.completion`, and Anthropic error bodies -> OpenAI's error shape.

Text blocks join into `message.content` (null when there is none), `tool_use` blocks become
`tool_calls` (arguments as a JSON string), thinking becomes the non-standard `reasoning_content` that
DeepSeek-style clients read. `system_fingerprint` is absent rather than invented; `created` comes from
the caller (the engine has no clock).
"""

from __future__ import annotations

from typing import Any

import orjson
from cc_proxy.engine.inbound.common import FINISH_REASONS, openai_usage

# Anthropic error type -> OpenAI error type. The status stays: the OpenAI SDK retries 408, 409, 429 and
# every 5xx (529 included) exactly as the Anthropic SDK does.
OPENAI_ERROR_TYPES: dict[str, str] = {
    "invalid_request_error": "invalid_request_error",
    "authentication_error": "authentication_error",
    "permission_error": "permission_error",
    "not_found_error": "not_found_error",
    "request_too_large": "invalid_request_error",
    "rate_limit_error": "rate_limit_error",
    "billing_error": "insufficient_quota",
    "timeout_error": "timeout",
    "overloaded_error": "server_error",
    "api_error": "server_error",
}


def chat_completion(message: dict[str, Any], created: int) -> dict[str, Any]:
    texts: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in message.get("content") or ():
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text", ""))
        elif kind == "thinking":
            reasoning.append(block.get("thinking", ""))
        elif kind == "tool_use":
            arguments = orjson.dumps(block.get("input", {})).decode()
            calls.append(
                {"id": block["id"], "type": "function", "function": {"name": block["name"], "arguments": arguments}}
            )
    out: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None, "refusal": None}
    if reasoning:
        out["reasoning_content"] = "".join(reasoning)
    if calls:
        out["tool_calls"] = calls
    return {
        "id": chat_id(message.get("id")),
        "object": "chat.completion",
        "created": created,
        "model": message.get("model", ""),
        "choices": [
            {"index": 0, "message": out, "finish_reason": finish_reason(message.get("stop_reason")), "logprobs": None}
        ],
        "usage": openai_usage(message.get("usage") or {}),
    }


def chat_id(message_id: Any) -> str:
    return "chatcmpl-" + (message_id if isinstance(message_id, str) else "")


def finish_reason(stop_reason: Any) -> str:
    return FINISH_REASONS.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def openai_error(anthropic_body: bytes) -> dict[str, Any]:
    """`{"error": {message, type, param, code}}` for an Anthropic error body (any body, really)."""
    try:
        payload = orjson.loads(anthropic_body)
    except orjson.JSONDecodeError:
        payload = None
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict) and "param" in error and "code" in error:  # already OpenAI's shape
        return {"error": error}
    error = error if isinstance(error, dict) else {}
    message = error.get("message")
    anthropic_type = str(error.get("type") or "api_error")
    return {
        "error": {
            "message": message if isinstance(message, str) else "upstream error",
            "type": OPENAI_ERROR_TYPES.get(anthropic_type, "server_error"),
            "param": None,
            "code": anthropic_type,
        }
    }
