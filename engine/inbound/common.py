"""What both OpenAI front doors share: type checks with OpenAI-style `param` paths, content parts, usage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from cc_proxy.engine.errors import ProxyError

RAW_ARGUMENTS_KEY = "_raw_arguments"  # arguments that are not a JSON object, kept for the model to see

# Anthropic requires max_tokens; OpenAI requests may omit it. A rule can clamp it to the target's limit.
DEFAULT_MAX_TOKENS = 8192
MIN_THINKING_BUDGET = 1024  # Anthropic's smallest thinking budget
# OpenAI effort levels as Anthropic thinking budgets (budget_to_effort in engine.wire.reasoning maps back
# into the same buckets: low < 4096 <= medium < 16384 <= high).
EFFORT_BUDGETS: dict[str, int] = {
    "minimal": 1024,
    "low": 2048,
    "medium": 8192,
    "high": 16384,
    "xhigh": 32000,
    "max": 32000,
}
# Anthropic stop_reason -> OpenAI finish_reason (Chat Completions).
FINISH_REASONS: dict[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


@dataclass(frozen=True, slots=True)
class Normalised:
    """An OpenAI-format request in the engine's form, and what the client asked of the answer."""

    request: dict[str, Any]  # the Anthropic Messages request the rules decide on
    stream: bool
    include_usage: bool = False  # Chat Completions: stream_options.include_usage
    dropped: tuple[str, ...] = field(default=())  # what has no Anthropic equivalent (explain, the log)
    # Responses: Anthropic tool name -> how the client declared it, for rendering calls back
    tools: Mapping[str, ToolOrigin] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ToolOrigin:
    name: str
    namespace: str | None = None
    custom: bool = False  # a free-text `custom` tool: its call carries `input`, not `arguments`


def invalid(message: str, param: str | None = None) -> ProxyError:
    """A 400 for the client; `param` leads the message the way OpenAI names the offending field."""
    return ProxyError(400, f"{param}: {message}" if param else message, should_retry=False)


def kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def dict_of(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def image_block(url: Any, param: str) -> dict[str, Any]:
    """An OpenAI image URL (`data:` or http(s)) as an Anthropic image block."""
    if not isinstance(url, str) or not url:
        raise invalid(f"expected an image URL string, got {kind(url)}", param)
    if url.startswith("data:"):
        header, sep, data = url[5:].partition(",")
        media_type, _, encoding = header.partition(";")
        if not sep or encoding != "base64" or not media_type:
            raise invalid("a data URL must be data:<media type>;base64,<data>", param)
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def file_block(file: Mapping[str, Any], param: str) -> dict[str, Any] | None:
    """A `file` part with inline data as an Anthropic document; a `file_id` has nothing to send (None)."""
    data = file.get("file_data")
    if not isinstance(data, str):
        return None
    if data.startswith("data:"):
        header, _, payload = data[5:].partition(",")
        media_type = header.partition(";")[0] or "application/pdf"
    else:
        media_type, payload = "application/pdf", data
    block: dict[str, Any] = {
        "type": "document",
        "source": {"type": "base64", "media_type": media_type, "data": payload},
    }
    name = file.get("filename")
    if isinstance(name, str) and name:
        block["title"] = name
    return block


def thinking_for_effort(effort: Any, max_tokens: int, param: str) -> dict[str, Any] | None:
    """An OpenAI reasoning effort as Anthropic `thinking` (None: reasoning off, or no room for a budget)."""
    if effort is None or effort == "none":
        return None
    if not isinstance(effort, str) or effort not in EFFORT_BUDGETS:
        raise invalid(f"expected one of none, {', '.join(EFFORT_BUDGETS)}, got {effort!r}", param)
    budget = min(EFFORT_BUDGETS[effort], max_tokens - 1)
    if budget < MIN_THINKING_BUDGET:
        return None
    return {"type": "enabled", "budget_tokens": budget}


def openai_usage(usage: Mapping[str, Any]) -> dict[str, Any]:
    """Anthropic usage counted as OpenAI counts it: prompt tokens include cache reads and writes."""
    cached = _count(usage.get("cache_read_input_tokens"))
    written = _count(usage.get("cache_creation_input_tokens"))
    prompt = _count(usage.get("input_tokens")) + cached + written
    completion = _count(usage.get("output_tokens"))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "cache_write_tokens": written},
    }


def _count(value: Any) -> int:
    return value if is_int(value) and value > 0 else 0


def parse_arguments(raw: Any) -> dict[str, Any]:
    """Tool-call arguments (a JSON string) as Anthropic's `input` object; never an exception."""
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
    return {RAW_ARGUMENTS_KEY: raw if isinstance(raw, str) else orjson.dumps(raw).decode()}
