"""Token usage of an answer that went to an OpenAI client in OpenAI's own format (a target of the
client's format), for the usage record: Chat Completions `usage` or a Responses `response.usage`.

OpenAI's prompt/input count includes cache reads and writes; the engine's `input` excludes them, as
Anthropic counts it (engine.usage).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from cc_proxy.engine.usage import Usage
from cc_proxy.engine.wire.sse import SSEDecoder


def openai_usage(usage: Any) -> Usage | None:
    if not isinstance(usage, Mapping):
        return None
    chat = "prompt_tokens" in usage
    prompt = _count(usage.get("prompt_tokens" if chat else "input_tokens"))
    details = usage.get("prompt_tokens_details" if chat else "input_tokens_details")
    details = details if isinstance(details, Mapping) else {}
    out_details = usage.get("completion_tokens_details" if chat else "output_tokens_details")
    out_details = out_details if isinstance(out_details, Mapping) else {}
    cached, written = _count(details.get("cached_tokens")), _count(details.get("cache_write_tokens"))
    return Usage(
        input=max(0, prompt - cached - written),
        output=_count(usage.get("completion_tokens" if chat else "output_tokens")),
        cache_read=cached,
        cache_write=written,
        reasoning=_count(out_details.get("reasoning_tokens")),
    )


def answer_usage(body: bytes) -> Usage | None:
    """Usage of a whole answer (a chat completion or a response object)."""
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return openai_usage(answer.get("usage")) if isinstance(answer, dict) else None


def stream_usage(chunk: bytes | None) -> Usage | None:
    """Usage from the last stream chunk that carried one (the relay keeps a reference, decoded here
    once, after the answer went out): a `usage` chunk, or the `response` of response.completed."""
    found: Usage | None = None
    for event in SSEDecoder().feed(chunk or b""):
        try:
            payload = orjson.loads(event.data)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(payload, dict):
            continue
        response = payload.get("response")
        usage = response.get("usage") if isinstance(response, dict) else payload.get("usage")
        found = openai_usage(usage) or found
    return found


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
