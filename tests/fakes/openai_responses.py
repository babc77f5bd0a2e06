"""OpenAI Responses API answers built with the `openai` SDK's own response types: a `response` object
and the stream of typed events the API sends for it (API reference, "Streaming events").

    answer = response([reasoning("rs_1", ["Plan."], encrypted="enc"), function_call("fc_1", "call_1", "Bash", "{}")])
    chunks = encode_events(stream_events(answer, pieces=3))

Every builder validates through the SDK model and rejects a key the model does not declare, so a typo
cannot pass for the real format.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson
from openai.types.responses import (
    Response,
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseReasoningItem,
    ResponseStreamEvent,
    ResponseUsage,
)
from pydantic import BaseModel, TypeAdapter

from tests.fakes.responses import Json, Stream
from tests.fakes.server import RecordedRequest

DEFAULT_MODEL = "gpt-fake-5-codex"
M = TypeVar("M", bound=BaseModel)
Item = ResponseReasoningItem | ResponseOutputMessage | ResponseFunctionToolCall
_EVENT = TypeAdapter[ResponseStreamEvent](ResponseStreamEvent)


def no_extras(model: BaseModel, path: str = "$") -> None:
    """Raise when `model`, or a model inside it, holds a key its SDK class does not declare."""
    if model.model_extra:
        raise ValueError(f"{path}: {type(model).__name__} has undeclared keys {sorted(model.model_extra)}")
    for name in type(model).model_fields:
        _walk(getattr(model, name), f"{path}.{name}")


def _walk(value: Any, path: str) -> None:
    if isinstance(value, BaseModel):
        no_extras(value, path)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, f"{path}[{i}]")


def typed(cls: type[M], data: dict[str, Any]) -> M:
    model = cls.model_validate(data)
    no_extras(model)
    return model


def event(data: dict[str, Any]) -> ResponseStreamEvent:
    parsed = _EVENT.validate_python(data)
    no_extras(parsed)
    return parsed


def usage(
    input_tokens: int = 21, output_tokens: int = 9, *, cached: int = 0, written: int = 0, reasoning: int = 0
) -> ResponseUsage:
    return typed(
        ResponseUsage,
        {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": written},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": input_tokens + output_tokens,
        },
    )


def reasoning(id: str, summary: Sequence[str] = (), *, encrypted: str | None = None) -> ResponseReasoningItem:
    data: dict[str, Any] = {
        "id": id,
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": s} for s in summary],
    }
    if encrypted is not None:
        data["encrypted_content"] = encrypted
    return typed(ResponseReasoningItem, data)


def message(id: str, text: str | None = None, *, refusal: str | None = None) -> ResponseOutputMessage:
    parts: list[dict[str, Any]] = []
    if text is not None:
        parts.append({"type": "output_text", "text": text, "annotations": []})
    if refusal is not None:
        parts.append({"type": "refusal", "refusal": refusal})
    data = {"id": id, "type": "message", "role": "assistant", "status": "completed", "content": parts}
    return typed(ResponseOutputMessage, data)


def function_call(id: str, call_id: str, name: str, arguments: str) -> ResponseFunctionToolCall:
    data = {"id": id, "type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}
    return typed(ResponseFunctionToolCall, {**data, "status": "completed"})


def response(
    output: Sequence[Item],
    *,
    status: str = "completed",
    incomplete: str | None = None,
    usage_: ResponseUsage | None = None,
    model: str = DEFAULT_MODEL,
    id: str = "resp_fake0001",
    created_at: int = 1700000000,
) -> Response:
    data: dict[str, Any] = {
        "id": id,
        "object": "response",
        "created_at": created_at,
        "model": model,
        "status": status,
        "output": [item.model_dump(mode="json", exclude_unset=True) for item in output],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "error": None,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "usage": (usage_ or usage()).model_dump(mode="json", exclude_unset=True),
    }
    return typed(Response, data)


Splitter = Callable[[str], list[str]]


def _pieces(value: str, n: int | Splitter) -> list[str]:
    """`value` in `n` near-equal deltas, or as a splitter function cuts it (property tests)."""
    if not value:
        return []
    if callable(n):
        return n(value)
    size = max(1, -(-len(value) // max(1, n)))
    return [value[i : i + size] for i in range(0, len(value), size)]


class _Events:
    def __init__(self) -> None:
        self.out: list[ResponseStreamEvent] = []

    def add(self, kind: str, **fields: Any) -> None:
        self.out.append(event({"type": kind, "sequence_number": len(self.out), **fields}))


def stream_events(answer: Response, *, pieces: int | Splitter = 3) -> list[ResponseStreamEvent]:
    """The event sequence the API streams for `answer`: created, in_progress, per output item its
    added event, parts and deltas (`pieces` per text) and done events, then completed/incomplete."""
    events = _Events()
    head = answer.model_dump(mode="json", exclude_unset=True)
    opening = {**head, "status": "in_progress", "output": [], "usage": None, "incomplete_details": None}
    events.add("response.created", response=opening)
    events.add("response.in_progress", response=opening)
    for at, item in enumerate(answer.output):
        done = item.model_dump(mode="json", exclude_unset=True)
        ids = {"item_id": done.get("id", ""), "output_index": at}
        if isinstance(item, ResponseReasoningItem):
            events.add(
                "response.output_item.added", output_index=at, item={**done, "summary": [], "encrypted_content": None}
            )
            for i, part in enumerate(item.summary):
                events.add(
                    "response.reasoning_summary_part.added",
                    **ids,
                    summary_index=i,
                    part={"type": "summary_text", "text": ""},
                )
                for piece in _pieces(part.text, pieces):
                    events.add("response.reasoning_summary_text.delta", **ids, summary_index=i, delta=piece)
                events.add("response.reasoning_summary_text.done", **ids, summary_index=i, text=part.text)
                events.add(
                    "response.reasoning_summary_part.done",
                    **ids,
                    summary_index=i,
                    part={"type": "summary_text", "text": part.text},
                )
        elif isinstance(item, ResponseOutputMessage):
            events.add(
                "response.output_item.added", output_index=at, item={**done, "status": "in_progress", "content": []}
            )
            for i, part in enumerate(item.content):
                value = part.text if part.type == "output_text" else part.refusal
                kind = "output_text" if part.type == "output_text" else "refusal"
                empty = (
                    {"type": "output_text", "text": "", "annotations": []}
                    if kind == "output_text"
                    else {"type": "refusal", "refusal": ""}
                )
                events.add("response.content_part.added", **ids, content_index=i, part=empty)
                extra = {"logprobs": []} if kind == "output_text" else {}
                for piece in _pieces(value, pieces):
                    events.add(f"response.{kind}.delta", **ids, content_index=i, delta=piece, **extra)
                done_field = {"text": value} if kind == "output_text" else {"refusal": value}
                events.add(f"response.{kind}.done", **ids, content_index=i, **done_field, **extra)
                events.add(
                    "response.content_part.done",
                    **ids,
                    content_index=i,
                    part=part.model_dump(mode="json", exclude_unset=True),
                )
        else:
            events.add(
                "response.output_item.added", output_index=at, item={**done, "status": "in_progress", "arguments": ""}
            )
            for piece in _pieces(item.arguments, pieces):
                events.add("response.function_call_arguments.delta", **ids, delta=piece)
            events.add("response.function_call_arguments.done", **ids, arguments=item.arguments)
        events.add("response.output_item.done", output_index=at, item=done)
    final = "response.incomplete" if answer.status == "incomplete" else "response.completed"
    events.add(final, response=head)
    return events.out


def failed_event(message_text: str, code: str = "server_error", *, sequence_number: int = 0) -> ResponseStreamEvent:
    failed = response([], status="failed").model_dump(mode="json", exclude_unset=True)
    failed["error"] = {"code": code, "message": message_text}
    failed["usage"] = None
    return event({"type": "response.failed", "sequence_number": sequence_number, "response": failed})


def encode_events(events: Sequence[ResponseStreamEvent]) -> list[bytes]:
    """One `event: <type>` + `data: <json>` SSE chunk per event, as the API frames them."""
    return [
        b"event: "
        + e.type.encode()
        + b"\ndata: "
        + orjson.dumps(e.model_dump(mode="json", exclude_unset=True))
        + b"\n\n"
        for e in events
    ]


def answer_for(req: RecordedRequest, answer: Response, *, pieces: int = 3) -> Stream | Json:
    """`answer` as the request asks: a stream of events, or the response object as JSON."""
    body = req.json if isinstance(req.json, dict) else {}
    if body.get("stream"):
        return Stream(encode_events(stream_events(answer, pieces=pieces)))
    return Json(answer.model_dump(mode="json", exclude_unset=True))


def auto(answer: Response, *, pieces: int = 3) -> Callable[[RecordedRequest], Stream | Json]:
    return lambda req: answer_for(req, answer, pieces=pieces)
