"""Gemini `generateContent` answers as the API sends them (protocols.md 3.4-3.6): one
`GenerateContentResponse`, or an `alt=sse` stream of them, each holding only the new parts.

    answer = response(thought("Plan."), text("Reading."), call("Read", {"file_path": "a.py"}, signature="c2ln"))
    up.always("*", auto(answer))  # SSE for :streamGenerateContent, JSON for :generateContent

Streams follow what Gemini does: text and thought parts arrive in pieces, a `functionCall` part whole
(with its `thoughtSignature`), `usageMetadata` on every event (the last one counts), `finishReason` on
the last event, no `[DONE]`; events end with CRLF CRLF. `tests/fakes/test_fakes.py` checks these
against the real google-genai SDK.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from typing import Any

from tests.fakes.responses import Json, Response, Stream
from tests.fakes.server import RecordedRequest

DEFAULT_MODEL = "gemini-fake-2.5"
DEFAULT_USAGE: dict[str, Any] = {
    "promptTokenCount": 42,
    "candidatesTokenCount": 9,
    "thoughtsTokenCount": 5,
    "totalTokenCount": 56,
}
STATUS_BY_CODE = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def text(value: str, *, signature: str | None = None) -> dict[str, Any]:
    return _signed({"text": value}, signature)


def thought(value: str, *, signature: str | None = None) -> dict[str, Any]:
    return _signed({"text": value, "thought": True}, signature)


def call(name: str, args: dict[str, Any], *, id: str | None = None, signature: str | None = None) -> dict[str, Any]:
    function: dict[str, Any] = {"name": name, "args": args}
    if id is not None:
        function = {"id": id, **function}
    return _signed({"functionCall": function}, signature)


def _signed(part: dict[str, Any], signature: str | None) -> dict[str, Any]:
    return {**part, "thoughtSignature": signature} if signature is not None else part


def response(
    *parts: dict[str, Any],
    finish_reason: str | None = "STOP",
    usage: dict[str, Any] | None = DEFAULT_USAGE,
    model: str = DEFAULT_MODEL,
    response_id: str = "fakeResponse01",
) -> dict[str, Any]:
    """A whole (non-streaming) `GenerateContentResponse`."""
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": list(parts)}, "index": 0}
    if finish_reason is not None:
        candidate["finishReason"] = finish_reason
    out: dict[str, Any] = {"candidates": [candidate]}
    if usage is not None:
        out["usageMetadata"] = usage
    out["modelVersion"] = model
    out["responseId"] = response_id
    return out


def stream_payloads(answer: dict[str, Any], pieces: int = 3) -> list[dict[str, Any]]:
    """The events that stream `answer`: each text or thought part cut into `pieces` (its signature on
    the last piece), each call whole; usage on every event, the finish reason on the last."""
    candidate = answer["candidates"][0]
    out: list[dict[str, Any]] = []
    for part in candidate["content"]["parts"]:
        if part.get("text"):
            value: str = part["text"]
            size = max(1, -(-len(value) // pieces))
            cuts = [value[i : i + size] for i in range(0, len(value), size)]
            for n, piece in enumerate(cuts):
                chunk = {k: v for k, v in part.items() if k != "thoughtSignature" or n == len(cuts) - 1}
                out.append(_event(answer, {**chunk, "text": piece}))
        else:
            out.append(_event(answer, copy.deepcopy(part)))
    if not out:
        out.append(_event(answer, None))
    last = out[-1]["candidates"][0]
    if "finishReason" in candidate:
        last["finishReason"] = candidate["finishReason"]
    return out


def _event(answer: dict[str, Any], part: dict[str, Any] | None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "candidates": [{"content": {"role": "model", "parts": [part] if part else []}, "index": 0}]
    }
    for key in ("usageMetadata", "modelVersion", "responseId"):
        if key in answer:
            event[key] = answer[key]
    return event


def encode(payloads: Sequence[dict[str, Any]]) -> list[bytes]:
    """`data: {json}` events ended by CRLF CRLF, as Google's servers frame them; no `[DONE]`."""
    return [b"data: " + json.dumps(p, separators=(",", ":")).encode() + b"\r\n\r\n" for p in payloads]


def stream(answer: dict[str, Any], pieces: int = 3) -> Stream:
    return Stream(encode(stream_payloads(answer, pieces)))


def error(code: int, message: str, *, retry_delay: str | None = None, status: str | None = None) -> Json:
    """A Gemini error answer `{"error": {"code", "message", "status", "details"?}}`."""
    body: dict[str, Any] = {"code": code, "message": message, "status": status or STATUS_BY_CODE.get(code, "UNKNOWN")}
    if retry_delay is not None:
        body["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay}]
    return Json({"error": body}, status=code)


def is_stream(req: RecordedRequest) -> bool:
    return req.path.endswith(":streamGenerateContent")


def auto(answer: dict[str, Any], pieces: int = 3) -> Callable[[RecordedRequest], Response]:
    """A responder: SSE for `:streamGenerateContent` (`alt=sse`), one JSON body for `:generateContent`."""

    def respond(req: RecordedRequest) -> Response:
        return stream(answer, pieces) if is_stream(req) else Json(answer)

    return respond
