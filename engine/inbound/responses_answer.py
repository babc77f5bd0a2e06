"""Anthropic message -> OpenAI Responses `response` object; the output items streams share.

One output item per content block, in order: `text` -> a `message` item (one `output_text` part),
`thinking` -> a `reasoning` item (the text as its summary, the block sealed in `encrypted_content`),
`tool_use` -> a `function_call` (or `custom_tool_call`, with its namespace) as the client declared the
tool. `max_tokens` ends a response `incomplete` (reason `max_output_tokens`). Usage: `input_tokens`
counts cache reads and writes, `cached_tokens` the reads, `cache_write_tokens` the writes; Anthropic
does not count reasoning apart from output, so `reasoning_tokens` is 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from cc_proxy.engine.inbound.chat_answer import openai_error
from cc_proxy.engine.inbound.common import ToolOrigin
from cc_proxy.engine.inbound.reasoning_items import seal

INCOMPLETE = {"max_tokens": "max_output_tokens", "model_context_window_exceeded": "max_output_tokens"}


def response_id(message_id: Any) -> str:
    suffix = message_id[4:] if isinstance(message_id, str) and message_id.startswith("msg_") else str(message_id or "")
    return "resp_" + suffix


def item_id(prefix: str, response: str, index: int) -> str:
    return f"{prefix}_{response[5:]}_{index}"


def output_item(
    block: Mapping[str, Any], rid: str, index: int, tools: Mapping[str, ToolOrigin]
) -> dict[str, Any] | None:
    """The finished output item for one Anthropic content block (None: the client has no such item)."""
    kind = block.get("type")
    if kind == "text":
        part = {"type": "output_text", "text": block.get("text", ""), "annotations": []}
        return message_item(item_id("msg", rid, index), [part], "completed")
    if kind in ("thinking", "redacted_thinking"):
        text = block.get("thinking", "") if kind == "thinking" else ""
        return reasoning_item(item_id("rs", rid, index), text, dict(block))
    if kind == "tool_use":
        arguments = orjson.dumps(block.get("input", {})).decode()
        return call_item(item_id("fc", rid, index), block["id"], block["name"], arguments, tools, block.get("input"))
    return None  # server tools and their results: nothing this client can act on


def message_item(iid: str, content: list[dict[str, Any]], status: str) -> dict[str, Any]:
    return {"type": "message", "id": iid, "status": status, "role": "assistant", "content": content}


def reasoning_item(iid: str, text: str, block: dict[str, Any] | None) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "reasoning", "id": iid, "summary": []}
    if text:
        item["summary"] = [{"type": "summary_text", "text": text}]
    if block is not None:
        item["encrypted_content"] = seal(block)
    return item


def call_item(
    iid: str, call_id: str, name: str, arguments: str, tools: Mapping[str, ToolOrigin], parsed: Any = None
) -> dict[str, Any]:
    origin = tools.get(name)
    if origin is not None and origin.custom:
        value = parsed.get("input") if isinstance(parsed, dict) else None
        if value is None:
            value = _input_of(arguments)
        return {"type": "custom_tool_call", "id": iid, "call_id": call_id, "name": origin.name, "input": value}
    item: dict[str, Any] = {"type": "function_call", "id": iid, "call_id": call_id, "status": "completed"}
    item["name"] = origin.name if origin is not None else name
    if origin is not None and origin.namespace:
        item["namespace"] = origin.namespace
    item["arguments"] = arguments
    return item


def _input_of(arguments: str) -> str:
    try:
        value = orjson.loads(arguments) if arguments else {}
    except orjson.JSONDecodeError:
        return arguments
    inner = value.get("input") if isinstance(value, dict) else None
    return inner if isinstance(inner, str) else arguments


def responses_usage(usage: Mapping[str, Any]) -> dict[str, Any]:
    cached = _count(usage.get("cache_read_input_tokens"))
    written = _count(usage.get("cache_creation_input_tokens"))
    prompt = _count(usage.get("input_tokens")) + cached + written
    output = _count(usage.get("output_tokens"))
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": written},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + output,
    }


def response_object(
    rid: str,
    created: int,
    model: str,
    output: list[dict[str, Any]],
    stop_reason: Any,
    usage: Mapping[str, Any] | None,
    status: str | None = None,
) -> dict[str, Any]:
    reason = INCOMPLETE.get(stop_reason) if isinstance(stop_reason, str) else None
    state = status or ("incomplete" if reason else "completed")
    return {
        "id": rid,
        "object": "response",
        "created_at": created,
        "status": state,
        "error": None,
        "incomplete_details": {"reason": reason} if reason and state == "incomplete" else None,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "store": False,
        "usage": responses_usage(usage) if usage is not None else None,
    }


def response(message: dict[str, Any], created: int, tools: Mapping[str, ToolOrigin]) -> dict[str, Any]:
    rid = response_id(message.get("id"))
    output = []
    for index, block in enumerate(message.get("content") or ()):
        item = output_item(block, rid, index, tools)
        if item is not None:
            output.append(item)
    model = message.get("model", "")
    return response_object(rid, created, model, output, message.get("stop_reason"), message.get("usage") or {})


def error_event_payload(anthropic_body: bytes, sequence_number: int) -> dict[str, Any]:
    error = openai_error(anthropic_body)["error"]
    return {
        "type": "error",
        "code": error["code"],
        "message": error["message"],
        "param": error["param"],
        "sequence_number": sequence_number,
    }


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
