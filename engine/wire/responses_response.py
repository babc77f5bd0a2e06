"""OpenAI Responses answer -> Anthropic message (non-streaming), and the mappings the stream shares.

Output items map one to one, in order: a `reasoning` item -> a `thinking` block (its summaries joined
by a blank line; its encrypted content, when present, in the signature, see `engine.wire.reasoning`),
a `message` item -> a `text` block (its `output_text` and `refusal` parts joined), a `function_call`
item -> a `tool_use` block whose id is the `call_id`. Items of other types (hosted tools) carry nothing
a client can use and are skipped; empty text is never emitted. A reasoning item with neither summary
text nor encrypted content gives no block.

`status` decides the stop reason: `incomplete` with `incomplete_details.reason` `max_output_tokens` ->
`max_tokens`, `content_filter` -> `refusal`; otherwise `tool_use` when a function call was made, else
`end_turn`. A `failed` answer (or an `error` object) is an error, typed like the Chat path's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cc_proxy.engine.errors import ProxyError
from cc_proxy.engine.wire.openai_response import error_fields, parse_arguments, tool_id
from cc_proxy.engine.wire.reasoning import make_signature
from cc_proxy.engine.wire.types import TranslationContext

SUMMARY_SEPARATOR = "\n\n"
_INCOMPLETE_STOP = {"max_output_tokens": "max_tokens", "content_filter": "refusal"}


def translate_response(body: dict[str, Any], ctx: TranslationContext) -> dict[str, Any]:
    """A complete Anthropic message; a failed answer or a body without `output` -> ProxyError."""
    if not isinstance(body, dict):
        raise ProxyError(502, "upstream answer is not a JSON object", "api_error")
    error = body.get("error")
    if error is not None or body.get("status") == "failed":
        kind, text = error_fields(error if error is not None else {"message": "the response failed"})
        raise ProxyError(502, f"upstream error: {text}", kind)
    output = body.get("output")
    if not isinstance(output, list):
        raise ProxyError(502, "upstream answer has no output", "api_error")
    msg_id = ctx.new_id("msg_")
    content: list[dict[str, Any]] = []
    for item in output:
        if not isinstance(item, dict):
            continue
        item_type = item.get("type")
        if item_type == "reasoning":
            text = summary_text(item)
            signed = signed_item(item)
            if text or signed:
                content.append({"type": "thinking", "thinking": text, "signature": make_signature(None, signed)})
        elif item_type == "message":
            text = message_text(item)
            if text:
                content.append({"type": "text", "text": text})
        elif item_type == "function_call":
            name = item.get("name")
            content.append(
                {
                    "type": "tool_use",
                    "id": tool_id(item.get("call_id"), ctx),
                    "name": name if isinstance(name, str) else "",
                    "input": parse_arguments(item.get("arguments")),
                }
            )
    has_tools = any(block["type"] == "tool_use" for block in content)
    usage = body.get("usage")
    return {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": ctx.response_model,
        "content": content,
        "stop_reason": stop_reason_of(body, has_tools),
        "stop_sequence": None,
        "usage": final_usage(usage, ctx),
    }


def summary_text(item: Mapping[str, Any]) -> str:
    summary = item.get("summary")
    if not isinstance(summary, list):
        return ""
    texts = [s["text"] for s in summary if isinstance(s, dict) and isinstance(s.get("text"), str) and s["text"]]
    return SUMMARY_SEPARATOR.join(texts)


def signed_item(item: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the signature carries back: the item's id and encrypted content. None without encrypted
    content: with `store: false` an id alone would be a 404 ("Items are not persisted") next turn."""
    encrypted = item.get("encrypted_content")
    if not isinstance(encrypted, str) or not encrypted:
        return None
    signed: dict[str, Any] = {"encrypted_content": encrypted}
    if isinstance(item.get("id"), str):
        signed["id"] = item["id"]
    return signed


def message_text(item: Mapping[str, Any]) -> str:
    parts = item.get("content")
    if not isinstance(parts, list):
        return ""
    texts: list[str] = []
    for part in parts:
        if not isinstance(part, dict):
            continue
        value = part.get("text") if part.get("type") == "output_text" else part.get("refusal")
        if isinstance(value, str):
            texts.append(value)
    return "".join(texts)


def stop_reason_of(response: Mapping[str, Any], has_tools: bool) -> str:
    if response.get("status") == "incomplete":
        details = response.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        mapped = _INCOMPLETE_STOP.get(reason) if isinstance(reason, str) else None
        if mapped is not None:
            return mapped
    return "tool_use" if has_tools else "end_turn"


def final_usage(usage: Any, ctx: TranslationContext) -> dict[str, int]:
    """The answer's Anthropic usage, noting on `ctx.usage_note` what that cannot carry: the
    reasoning tokens (`output_tokens_details.reasoning_tokens`), or that the upstream
    sent no usage (input is then the estimate)."""
    if isinstance(usage, dict):
        details = usage.get("output_tokens_details")
        ctx.usage_note.note(details.get("reasoning_tokens") if isinstance(details, dict) else 0, False)
        return usage_of(usage, 0)
    ctx.usage_note.note(0, True)
    return usage_of(None, ctx.input_tokens())


def usage_of(usage: Any, estimate: int) -> dict[str, int]:
    """Anthropic usage; `input_tokens` excludes cache reads and writes (OpenAI's includes them), and
    `output_tokens` includes the reasoning tokens, as Anthropic's includes thinking."""
    if not isinstance(usage, dict):
        return {
            "input_tokens": estimate,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 0,
        }
    details = usage.get("input_tokens_details")
    details = details if isinstance(details, dict) else {}
    cached = _int(details.get("cached_tokens"))
    written = _int(details.get("cache_write_tokens"))
    return {
        "input_tokens": max(0, _int(usage.get("input_tokens")) - cached - written),
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": cached,
        "output_tokens": _int(usage.get("output_tokens")),
    }


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
