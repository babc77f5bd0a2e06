"""OpenAI Chat Completions answers as the API sends them: a chat.completion body and
chat.completion.chunk streams (protocols.md 2.4, 2.5).

    chunks = chat_stream(content=["Check", "ing."], tool_calls=[ToolCall("call_A", "Read", ['{"file', '": 1}'])])

`chat_stream_payloads` gives the chunk dicts to bend into a provider quirk before `encode_chunks`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tests.fakes.responses import Json, Response, Stream, sse_chunks
from tests.fakes.server import RecordedRequest

DEFAULT_MODEL = "gpt-fake-1"
DEFAULT_USAGE: dict[str, Any] = {
    "prompt_tokens": 21,
    "completion_tokens": 9,
    "total_tokens": 30,
    "prompt_tokens_details": {"cached_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0},
}


@dataclass(frozen=True)
class ToolCall:
    """One tool call; `arguments` are the fragments as streamed (joined for non-streaming answers)."""

    id: str
    name: str
    arguments: Sequence[str] = ("{}",)


def _chunk(
    delta: dict[str, Any], finish_reason: str | None, *, id: str, model: str, created: int, usage_null: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }
    if usage_null:
        out["usage"] = None
    return out


def chat_stream_payloads(
    *,
    content: Sequence[str] = (),
    reasoning: Sequence[str] = (),
    reasoning_field: str = "reasoning_content",
    tool_calls: Sequence[ToolCall] = (),
    finish_reason: str | None = None,
    usage: dict[str, Any] | None = DEFAULT_USAGE,
    model: str = DEFAULT_MODEL,
    id: str = "chatcmpl-fake0001",
    created: int = 1700000000,
) -> list[dict[str, Any]]:
    """Chunk payloads: role chunk, reasoning deltas, content deltas, tool-call deltas (id/type/name on
    the first fragment of each index, then argument pieces), the finish_reason chunk, and with `usage`
    the final `choices: []` usage chunk (other chunks then carry `usage: null`, as with include_usage)."""
    meta: dict[str, Any] = {"id": id, "model": model, "created": created, "usage_null": usage is not None}
    out = [_chunk({"role": "assistant", "content": "", "refusal": None}, None, **meta)]
    out += [_chunk({reasoning_field: piece}, None, **meta) for piece in reasoning]
    out += [_chunk({"content": piece}, None, **meta) for piece in content]
    for index, call in enumerate(tool_calls):
        first = {"index": index, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        out.append(_chunk({"tool_calls": [first]}, None, **meta))
        for frag in call.arguments:
            out.append(_chunk({"tool_calls": [{"index": index, "function": {"arguments": frag}}]}, None, **meta))
    if finish_reason is None:
        finish_reason = "tool_calls" if tool_calls else "stop"
    out.append(_chunk({}, finish_reason, **meta))
    if usage is not None:
        out.append({**out[-1], "choices": [], "usage": usage})
    return out


def encode_chunks(payloads: Sequence[dict[str, Any]], *, done: bool = True) -> list[bytes]:
    """`data: {json}` chunks, then `data: [DONE]` unless `done` is False."""
    return sse_chunks([(None, p) for p in payloads] + ([(None, "[DONE]")] if done else []))


def chat_stream(*, done: bool = True, **kw: Any) -> list[bytes]:
    """Raw SSE bytes of a chat.completion.chunk stream (arguments as for `chat_stream_payloads`)."""
    return encode_chunks(chat_stream_payloads(**kw), done=done)


def chat_completion(
    *,
    content: str | None = None,
    reasoning: str | None = None,
    reasoning_field: str = "reasoning_content",
    tool_calls: Sequence[ToolCall] = (),
    finish_reason: str | None = None,
    usage: dict[str, Any] | None = DEFAULT_USAGE,
    model: str = DEFAULT_MODEL,
    id: str = "chatcmpl-fake0001",
    created: int = 1700000000,
) -> dict[str, Any]:
    """A non-streaming chat.completion body."""
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    if reasoning is not None:
        message[reasoning_field] = reasoning
    if tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": "".join(c.arguments)}}
            for c in tool_calls
        ]
    if finish_reason is None:
        finish_reason = "tool_calls" if tool_calls else "stop"
    out: dict[str, Any] = {
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
    }
    if usage is not None:
        out["usage"] = usage
    return out


def auto(**kw: Any) -> Callable[[RecordedRequest], Response]:
    """A responder: a stream (usage chunk only when `stream_options.include_usage`) or a JSON body.

    `content`/`reasoning` are given as lists of pieces; the JSON answer joins them.
    """

    def respond(req: RecordedRequest) -> Response:
        body = req.json if isinstance(req.json, dict) else {}
        if body.get("stream"):
            include = bool((body.get("stream_options") or {}).get("include_usage"))
            stream_kw = {**kw} if include else {**kw, "usage": None}
            return Stream(chat_stream(**stream_kw))
        joined: dict[str, Any] = {k: ("".join(v) if k in ("content", "reasoning") else v) for k, v in kw.items()}
        return Json(chat_completion(**joined))

    return respond
