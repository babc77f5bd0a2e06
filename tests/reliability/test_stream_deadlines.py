"""Stream deadlines the catalogue audit found partly covered: a client that stops reading (C9) and
proxy pings on Anthropic pass-through streams (U11).

Timeouts are FAST_SERVER's (tests/server/conftest.py): idle 2 s, ping every 0.5 s.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import httpx
import orjson

from cc_proxy.engine.wire.sse import SSEDecoder
from tests.fakes import anthropic_stream as A
from tests.fakes.responses import Stream
from tests.reliability.conftest import CLIENT_KEY, STREAM, Rel, sse_events, wait_for_log

PING = b'event: ping\ndata: {"type": "ping"}\n\n'


def _wait_log(rel: Rel, request_id: str | None = None, path: str = "/v1/messages") -> list[dict[str, Any]]:
    return wait_for_log(
        rel.proxy,
        lambda e: e.get("event") == "request"
        and e.get("path") == path
        and (request_id is None or e.get("request_id") == request_id),
    )


def _raw_request(rel: Rel, rcvbuf: int) -> socket.socket:
    """A client socket with a small receive buffer that has sent a streaming request."""
    host, port = rel.url.removeprefix("http://").split(":")
    body = httpx.Request("POST", "http://x/v1/messages", json=STREAM).content
    head = (f"POST /v1/messages HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
            f"x-api-key: {CLIENT_KEY}\r\ncontent-length: {len(body)}\r\n\r\n").encode()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect((host, int(port)))
    sock.sendall(head + body)
    return sock


def _dechunk(raw: bytes) -> bytes:
    """The body of an HTTP/1.1 chunked response."""
    _, _, rest = raw.partition(b"\r\n\r\n")
    out = bytearray()
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        out += rest[:size]
        rest = rest[size + 2:]
    return bytes(out)


def test_c9_client_that_stops_reading_is_closed_after_the_idle_timeout(rel: Rel) -> None:
    """The client reads nothing while a 20 MB answer streams: once a send has waited idle_timeout (2 s)
    the proxy aborts the client connection (no in-band error can reach a client that does not read)
    and hangs up the upstream; the request is logged with why. Before: both stayed open until Sanic's
    response timeout (62 s here)."""
    rel.fake.add("/v1/messages", Stream(A.message_stream(A.message(A.text("y" * 20_000_000)), pieces=2000)))
    with _raw_request(rel, 4096) as stuck:
        upstream = rel.fake.wait_for_requests(1)[0]
        assert upstream.closed.wait(10), "a client that stopped reading must not hold the upstream open"
        stuck.settimeout(5)
        closed = False
        try:
            while stuck.recv(65536):
                pass
            closed = True  # EOF
        except ConnectionResetError:
            closed = True
        except TimeoutError:
            closed = False
        assert closed, "the stalled client connection must be closed by the proxy"
    logged = _wait_log(rel)
    assert logged and logged[-1]["status"] == 499, logged
    assert "stopped reading" in logged[-1].get("stream_error", ""), logged


def test_c9_slow_reader_gets_the_whole_stream(rel: Rel) -> None:
    """Back-pressure, not a deadline on the whole answer: a client reading 8 KiB every 20 ms takes
    longer than idle_timeout in total, never stalls a send that long, and gets every byte."""
    text = "z" * 1_200_000
    chunks = A.message_stream(A.message(A.text(text)), pieces=300)
    rel.fake.add("/v1/messages", Stream(chunks))
    received = bytearray()
    started = time.monotonic()
    with _raw_request(rel, 8192) as slow:
        slow.settimeout(10)
        while not received.endswith(b"0\r\n\r\n"):
            piece = slow.recv(8192)
            if not piece:
                break
            received += piece
            time.sleep(0.02)
    assert time.monotonic() - started > 2  # slower than the idle timeout as a whole
    body = _dechunk(bytes(received))
    decoder = SSEDecoder()
    events = decoder.feed(body) + decoder.finish()
    assert events[-1].event == "message_stop"
    streamed = "".join(orjson.loads(e.data)["delta"]["text"] for e in events if e.event == "content_block_delta")
    assert streamed == text


def test_u11_silent_pass_through_stream_gets_pings_then_an_in_band_timeout(rel: Rel) -> None:
    chunks = A.message_stream(A.message(A.text("one two three")), ping=False)
    rel.fake.always("/v1/messages", Stream(chunks[:3], end="hang"))  # start, block start, one delta
    response = rel.post("/v1/messages", STREAM)
    assert response.status_code == 200
    events = sse_events(response.text)
    assert events[:3] == ["message_start", "content_block_start", "content_block_delta"]
    assert "ping" in events[3:], events  # the proxy kept the client alive while the upstream was silent
    assert events[-1] == "error" and "message_stop" not in events
    assert "timeout_error" in response.text
    assert len(rel.fake.requests) == 1
    assert rel.fake.requests[0].closed.wait(2)


def test_u11_pass_through_pings_only_between_events_and_bytes_pass_untouched(rel: Rel) -> None:
    """The upstream pauses 1.3 s in the middle of an event (ping_interval 0.5 s): the proxy's pings come
    before that event, never inside it, and apart from them the client gets the upstream's bytes."""
    chunks = A.message_stream(A.message(A.text("Hello there, how are you")), ping=False)
    raw = b"".join(chunks)
    middle = len(b"".join(chunks[:3])) + 20  # inside the fourth event
    rel.fake.always("/v1/messages", Stream([raw[:middle], raw[middle:]], delays=[0.0, 1.3]))
    response = rel.post("/v1/messages", STREAM)
    assert response.status_code == 200
    body = response.content
    assert PING in body
    first_end = body.index(b"\n\n") + 2  # message_start's model is rewritten to the requested name
    upstream_first_end = raw.index(b"\n\n") + 2
    assert body[first_end:].replace(PING, b"") == raw[upstream_first_end:]
    decoder = SSEDecoder()
    events = decoder.feed(body) + decoder.finish()
    assert [e.event for e in events if e.event != "ping"] == [e.event for e in SSEDecoder().feed(raw)]
    assert events[-1].event == "message_stop"
    for event in events:
        orjson.loads(event.data)  # every event whole: a ping inside one would break its JSON
