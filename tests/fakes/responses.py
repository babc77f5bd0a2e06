"""What a fake upstream answers: plain data, one class per kind of answer or fault."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import orjson

if TYPE_CHECKING:
    from tests.fakes.server import RecordedRequest


@dataclass(frozen=True)
class Json:
    """A JSON body (compact, like the real APIs) with a status and extra headers."""

    body: Any
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Raw:
    """Exact body bytes: HTML pages, garbage, truncated JSON."""

    body: bytes
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = "application/octet-stream"


StreamEnd = Literal["complete", "fin", "rst", "hang"]


@dataclass(frozen=True)
class Stream:
    """A chunked HTTP body sent chunk by chunk (SSE by default).

    `delay` is slept before every chunk after the first (`delays` gives one per chunk instead, the
    first included). `end`: "complete" sends the final zero-length chunk; "fin" closes the socket
    without it (truncated body); "rst" resets the connection (SO_LINGER 0: the peer may lose bytes
    it has not read yet, as in real life); "hang" keeps the connection open and silent.
    `headers_delay` is slept before the status line (a slow first byte).
    """

    chunks: Sequence[bytes]
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    delays: Sequence[float] | None = None
    end: StreamEnd = "complete"
    content_type: str = "text/event-stream"
    headers_delay: float = 0.0


@dataclass(frozen=True)
class Hang:
    """Read the request, then never send a byte (until the client hangs up or the fake stops)."""


@dataclass(frozen=True)
class Close:
    """Read the request, then close without answering: FIN, or RST when `rst`."""

    rst: bool = False


Response: TypeAlias = Json | Raw | Stream | Hang | Close
Responder: TypeAlias = "Response | Callable[[RecordedRequest], Response]"


def html(status: int = 200, body: str = "<html><head><title>Gateway</title></head><body>Oops</body></html>") -> Raw:
    """An HTML page, as a captive portal or CDN error page would send."""
    return Raw(body.encode(), status, content_type="text/html; charset=utf-8")


def trickle(data: bytes, *, size: int = 1, delay: float = 0.01, **kw: Any) -> Stream:
    """`data` sent `size` bytes at a time with `delay` between pieces."""
    return Stream([data[i : i + size] for i in range(0, len(data), size)], delay=delay, **kw)


def sse_chunks(events: Sequence[tuple[str | None, Any]]) -> list[bytes]:
    """`[(event_name, payload)]` -> one raw SSE chunk per event (payload: str as is, else compact JSON)."""
    out = []
    for name, payload in events:
        data = payload if isinstance(payload, str) else orjson.dumps(payload).decode()
        head = f"event: {name}\n" if name is not None else ""
        out.append(f"{head}data: {data}\n\n".encode())
    return out


def anthropic_error(status: int, error_type: str, message: str, **headers: str) -> Json:
    """An Anthropic error answer, e.g. `anthropic_error(529, "overloaded_error", "Overloaded")`."""
    body = {"type": "error", "error": {"type": error_type, "message": message}, "request_id": "req_fake_error"}
    return Json(body, status, {k.replace("_", "-"): v for k, v in headers.items()})


def openai_error(status: int, message: str, error_type: str = "invalid_request_error", code: str | None = None) -> Json:
    """An OpenAI error answer: `{"error": {"message", "type", "param", "code"}}`."""
    return Json({"error": {"message": message, "type": error_type, "param": None, "code": code}}, status)
