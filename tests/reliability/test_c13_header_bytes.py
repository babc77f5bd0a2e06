"""Issue 10, header bytes: a bare CR, a bare LF or a NUL in a client header the proxy forwards
(`anthropic-beta`, `x-app`) is a 400 naming the header, never a 500 from the HTTP client's writer.
Sent over a raw socket: HTTP clients refuse to write such a header themselves."""

from __future__ import annotations

import json

import pytest

from tests.fakes import anthropic_stream as A
from tests.reliability.conftest import OK, Rel, connect
from tests.server.conftest import CLIENT_KEY


def _raw_post(rel: Rel, model: str, header: bytes) -> tuple[int, dict[str, object]]:
    body = json.dumps({**OK, "model": model}).encode()
    head = (b"POST /v1/messages HTTP/1.1\r\nhost: proxy\r\ncontent-type: application/json\r\n"
            b"x-api-key: " + CLIENT_KEY.encode() + b"\r\n" + header + b"\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n")
    with connect(rel.proxy) as sock:
        sock.sendall(head + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    payload = rest.partition(b"\r\n\r\n")[2]
    return int(status_line.split()[1]), json.loads(payload) if payload.startswith(b"{") else {}


@pytest.mark.parametrize("name", [b"anthropic-beta", b"x-app"])
@pytest.mark.parametrize("bad", [b"\r", b"\n", b"\x00"], ids=["cr", "lf", "nul"])
def test_c13_control_bytes_in_a_forwarded_header_are_a_400_naming_it(rel: Rel, name: bytes, bad: bytes) -> None:
    rel.fake.always("/v1/messages", A.auto(A.message(A.text("ok"))))
    status, body = _raw_post(rel, "claude-x", name + b": a" + bad + b"b")  # the anthropic profile forwards both
    assert status == 400, (status, body)
    error = body["error"]
    assert isinstance(error, dict) and error["type"] == "invalid_request_error"
    assert name.decode() in str(error["message"])
    assert rel.fake.requests == []


def test_c13_the_same_header_is_harmless_where_the_profile_does_not_forward_it(rel: Rel) -> None:
    rel.fake.always("/compat/v1/messages", A.auto(A.message(A.text("ok"))))
    status, _ = _raw_post(rel, "compat-x", b"x-app: a\rb")
    assert status == 200
    assert "x-app" not in rel.fake.requests[0].headers
