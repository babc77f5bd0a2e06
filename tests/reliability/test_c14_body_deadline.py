"""Issue 10: a request body that stalls or trickles after a complete head is cut by a total deadline
(server/header_deadline.py; `--body-timeout`, default 15 s, 1 s here) with a 408 in Anthropic's error
shape, and counted in the log (`body_deadline`). A partial head cut by the header deadline gets the same
408 and leaves no traceback: every line the server writes is one JSON object (or a banner line)."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator

import pytest

from tests.conftest import RunningProcess
from tests.fakes import anthropic_stream as A
from tests.fakes.server import FakeUpstream
from tests.reliability.conftest import OK, connect, log_entries, reliability_config, reliability_rules, start_recorded
from tests.server.conftest import CLIENT_KEY, write_stack_files

BODY_TIMEOUT = 1.0
BODY = json.dumps(OK).encode()
HEAD = (b"POST /v1/messages HTTP/1.1\r\nhost: proxy\r\ncontent-type: application/json\r\nx-api-key: "
        + CLIENT_KEY.encode() + b"\r\ncontent-length: " + str(len(BODY)).encode() + b"\r\n\r\n")
BANNER = ("cc-proxy: ", "cc-proxy listening on ", "export ANTHROPIC_BASE_URL=")  # stdout, at start
CONFIG_PROBLEM = re.compile(r"^\S+:\d+:\d+: (warning|error): [a-z-]+: ")  # at start, as `cc-proxy check` prints them


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProcess]:
    base = tmp_path_factory.mktemp("c14")
    with FakeUpstream() as fake:
        fake.always("/v1/messages", A.auto(A.message(A.text("ok"))))
        config_path = write_stack_files(base, reliability_config(fake.url, 9), reliability_rules())
        running = start_recorded(config_path, args=("--no-watch", "--body-timeout", str(BODY_TIMEOUT),
                                                    "--header-timeout", "1"))
        try:
            yield running
        finally:
            running.stop()


def _answer_and_close(sock: socket.socket, feed: bytes = b"", every: float = 0.0) -> tuple[bytes, float]:
    """Read until the proxy closes (feeding `feed` a byte every `every` s meanwhile); what it sent and
    how long the connection stayed open."""
    started = time.monotonic()
    sock.settimeout(0.1)
    data = b""
    left = iter(feed)
    while time.monotonic() - started < 30:
        if every:
            byte = next(left, None)
            if byte is not None:
                try:
                    sock.sendall(bytes([byte]))
                except (BrokenPipeError, ConnectionResetError):
                    break
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            time.sleep(every)
            continue
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data, time.monotonic() - started


def _error_of(answer: bytes) -> dict[str, object]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer[:300]
    error = json.loads(body)["error"]
    assert isinstance(error, dict)
    return error


def test_c14_a_stalled_body_is_cut_at_the_deadline_with_a_408(proxy: RunningProcess) -> None:
    with connect(proxy) as sock:
        sock.sendall(HEAD + BODY[:10])  # a complete head, then a tenth of the body, then nothing
        answer, open_for = _answer_and_close(sock)
    print(f"\nstalled body: connection open {open_for:.1f} s")
    assert "request body not received within 1 s" in str(_error_of(answer)["message"])
    assert open_for < 30


def test_c14_a_trickled_body_is_cut_at_the_deadline_too(proxy: RunningProcess) -> None:
    with connect(proxy) as sock:
        sock.sendall(HEAD)
        answer, open_for = _answer_and_close(sock, BODY, every=0.2)  # each byte resets any inactivity timer
    print(f"\ntrickled body: connection open {open_for:.1f} s")
    assert "request body not received" in str(_error_of(answer)["message"])
    entries = [e for e in log_entries(proxy) if e.get("event") == "body_deadline"]
    assert entries and entries[-1]["seconds"] == BODY_TIMEOUT


def test_c14_a_body_that_arrives_in_time_is_served(proxy: RunningProcess) -> None:
    with connect(proxy) as sock:
        sock.sendall(HEAD + BODY[:10])
        time.sleep(BODY_TIMEOUT / 4)
        sock.sendall(BODY[10:])
        sock.settimeout(10)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]


def test_c14_a_partial_head_cut_by_the_header_deadline_is_a_408_and_no_traceback(proxy: RunningProcess) -> None:
    with connect(proxy) as sock:
        sock.sendall(HEAD[:30])
        answer, _ = _answer_and_close(sock)
    assert "request head not received" in str(_error_of(answer)["message"])
    time.sleep(0.3)  # the log line follows the answer
    assert any(e.get("event") == "header_deadline" for e in log_entries(proxy))
    for line in proxy.log().splitlines():
        if not line.startswith(BANNER) and not CONFIG_PROBLEM.match(line):
            json.loads(line)  # every other line the server wrote is one JSON object
    assert "Traceback" not in proxy.log() and "uncaught" not in proxy.log()
