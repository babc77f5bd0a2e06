"""OpenAI Chat Completions answer -> Anthropic message (non-streaming), and the mappings streams share.

Content order is Anthropic's: one `thinking` block (the reasoning, signed per `engine.wire.reasoning`),
one `text` block, then one `tool_use` block per call. Empty text is never emitted. Tool arguments that
are not a JSON object are never an exception: they arrive as `{RAW_ARGUMENTS_KEY: "<what was sent>"}`
so the client's schema check reports it and the model retries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson
from cc_proxy.engine.errors import ProxyError
from cc_proxy.engine.profiles import Profile
from cc_proxy.engine.wire.reasoning import ThinkTagSplitter, details_text, make_signature
from cc_proxy.engine.wire.types import TranslationContext

RAW_ARGUMENTS_KEY = "_raw_arguments"
_MAX_ERROR_TEXT = 2000  # an upstream error quoted to the client, at most this many characters
_ID_OK = re.compile(r"^[a-zA-Z0-9_-]+$")
_ID_BAD_CHARS = re.compile(r"[^a-zA-Z0-9_-]")

# OpenAI error `type`/`code` -> Anthropic error type (for errors inside a 200 answer or a stream).
_ERROR_TYPES: dict[str, str] = {
    "invalid_request_error": "invalid_request_error",
    "context_length_exceeded": "invalid_request_error",
    "invalid_prompt": "invalid_request_error",  # Responses API `response.error.code`
    "authentication_error": "authentication_error",
    "invalid_api_key": "authentication_error",
    "permission_error": "permission_error",
    "not_found_error": "not_found_error",
    "model_not_found": "not_found_error",
    "rate_limit_exceeded": "rate_limit_error",
    "rate_limit_error": "rate_limit_error",
    "insufficient_quota": "rate_limit_error",
    "overloaded_error": "overloaded_error",
    "server_error": "api_error",
    "timeout": "timeout_error",
}


def translate_response(body: dict[str, Any], ctx: TranslationContext) -> dict[str, Any]:
    """A complete Anthropic message; an OpenAI error object or a body without choices -> ProxyError."""
    if not isinstance(body, dict):
        raise ProxyError(502, "upstream answer is not a JSON object", "api_error")
    error = body.get("error")
    if error is not None:
        kind, text = error_fields(error)
        raise ProxyError(502, f"upstream error: {text}", kind)
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ProxyError(502, "upstream answer has no choices", "api_error")
    choice = choices[0]
    raw_message = choice.get("message")
    message: dict[str, Any] = raw_message if isinstance(raw_message, dict) else {}
    profile = ctx.target.provider.profile
    msg_id = ctx.new_id("msg_")

    reasoning, details = reasoning_of(message, profile)
    text = content_text(message.get("content"))
    if profile.split_think_tags and text:
        splitter = ThinkTagSplitter()
        pieces = splitter.feed(text) + splitter.finish()
        reasoning += "".join(t for kind, t in pieces if kind == "thinking")
        text = "".join(t for kind, t in pieces if kind == "text")
    refusal = message.get("refusal")
    if not text and isinstance(refusal, str):
        text = refusal

    calls = message.get("tool_calls")
    legacy = message.get("function_call")  # pre-tools servers: one call, no id
    if not isinstance(calls, list) and isinstance(legacy, dict):
        calls = [{"function": legacy}]
    tools: list[dict[str, Any]] = []
    for call in calls if isinstance(calls, list) else ():
        if not isinstance(call, dict):
            continue
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        name = function.get("name")
        tools.append(
            {
                "type": "tool_use",
                "id": tool_id(call.get("id"), ctx),
                "name": name if isinstance(name, str) else "",
                "input": parse_arguments(function.get("arguments")),
            }
        )
    stop_reason = stop_reason_of(choice.get("finish_reason"), bool(tools))
    stop_sequence = None
    if stop_reason == "end_turn":
        stop_sequence, in_text = matched_stop(choice.get("stop_reason"), text, ctx.stop_sequences)
        if stop_sequence is not None:
            stop_reason = "stop_sequence"
            if in_text:  # Anthropic's text never includes the sequence that stopped it
                text = text[: len(text) - len(stop_sequence)]

    content: list[dict[str, Any]] = []
    if reasoning or details:
        content.append({"type": "thinking", "thinking": reasoning, "signature": make_signature(details)})
    if text:
        content.append({"type": "text", "text": text})
    content.extend(tools)
    usage = body.get("usage")  # the estimate is computed only when the upstream reports none
    return {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": ctx.response_model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": final_usage(usage, ctx),
    }


def reasoning_of(message: Mapping[str, Any], profile: Profile) -> tuple[str, list[Any] | None]:
    """Reasoning text (first profile field present) and OpenRouter `reasoning_details`, if any."""
    text = ""
    for field in profile.reasoning_response_fields:
        value = message.get(field)
        if isinstance(value, str) and value:
            text = value
            break
    raw = message.get("reasoning_details")
    details = raw if isinstance(raw, list) and raw else None
    if not text and details:
        text = details_text(details)
    return text, details


def content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # some servers answer with content parts
        return "".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def tool_id(raw: Any, ctx: TranslationContext) -> str:
    """Keep a valid upstream id, sanitize one with bad characters (`functions.Bash:0`), mint a missing one."""
    if isinstance(raw, str) and raw:
        return raw if _ID_OK.match(raw) else _ID_BAD_CHARS.sub("_", raw)
    return ctx.new_id("toolu_")


def parse_arguments(raw: Any) -> dict[str, Any]:
    """`""`/null -> {}; a JSON object -> it; anything else -> `{RAW_ARGUMENTS_KEY: raw}`."""
    if isinstance(raw, dict):
        return raw
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    if isinstance(raw, str):
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return {RAW_ARGUMENTS_KEY: raw}
        if isinstance(value, dict):
            return value
        return {RAW_ARGUMENTS_KEY: raw}
    return {RAW_ARGUMENTS_KEY: orjson.dumps(raw).decode()}


def stop_reason_of(finish: Any, has_tools: bool) -> str:
    """Decided from content first: a `stop` with tool calls is `tool_use` (Claude Code runs the tools)."""
    if finish == "length":
        return "max_tokens"
    if finish == "content_filter":
        return "refusal"
    if has_tools:
        return "tool_use"
    return "end_turn"


def matched_stop(reported: Any, text: str, stop_sequences: tuple[str, ...]) -> tuple[str | None, bool]:
    """Which stop sequence fired, when provable, and whether it is still in the text: vLLM reports it
    (already cut from the text); some servers keep it at the end of the text."""
    if not stop_sequences:
        return None, False
    if isinstance(reported, str) and reported in stop_sequences:
        return reported, False
    for seq in stop_sequences:
        if seq and text.endswith(seq):
            return seq, True
    return None, False


def final_usage(usage: Any, ctx: TranslationContext) -> dict[str, int]:
    """The answer's Anthropic usage, noting on `ctx.usage_note` what that cannot carry: the
    reasoning tokens (`completion_tokens_details.reasoning_tokens`), or that the upstream
    sent no usage (input is then the estimate)."""
    if isinstance(usage, dict):
        details = usage.get("completion_tokens_details")
        ctx.usage_note.note(details.get("reasoning_tokens") if isinstance(details, dict) else 0, False)
        return usage_of(usage, 0)
    ctx.usage_note.note(0, True)
    return usage_of(None, ctx.input_tokens())


def usage_of(usage: Any, estimate: int) -> dict[str, int]:
    """Anthropic usage; `input_tokens` excludes cache reads and writes (OpenAI's prompt_tokens includes them)."""
    if not isinstance(usage, dict):
        return {
            "input_tokens": estimate,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 0,
        }
    prompt = _int(usage.get("prompt_tokens"))
    details = usage.get("prompt_tokens_details")
    details = details if isinstance(details, dict) else {}
    cached = _int(details.get("cached_tokens")) or _int(usage.get("prompt_cache_hit_tokens"))
    written = _int(details.get("cache_write_tokens"))
    return {
        "input_tokens": max(0, prompt - cached - written),
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": cached,
        "output_tokens": _int(usage.get("completion_tokens")),
    }


def error_fields(error: Any) -> tuple[str, str]:
    """(Anthropic error type, message) from an OpenAI error object (or whatever stands in its place)."""
    if isinstance(error, dict):
        message = error.get("message")
        text = message if isinstance(message, str) and message else orjson.dumps(error).decode()
        text = text[:_MAX_ERROR_TEXT]
        for key in ("code", "type"):
            mapped = _ERROR_TYPES.get(str(error.get(key)))
            if mapped:
                return mapped, text
        return "api_error", text
    return "api_error", str(error)[:_MAX_ERROR_TEXT]


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
