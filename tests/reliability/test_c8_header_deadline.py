"""C8 slowloris: a total deadline for a request head (server/header_deadline.py). Sanic's REQUEST_TIMEOUT
(10 s) restarts with every byte, so only this closes a client trickling its headers. This proxy runs with
`--header-timeout 1`; the trickle (a byte every 0.2 s) would keep any inactivity timer happy."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from tests.conftest import RunningProcess
from tests.fakes.server import FakeUpstream
from tests.reliability.conftest import connect, reliability_config, reliability_rules, start_recorded
from tests.server.conftest import write_stack_files

HEAD_TIMEOUT = 1.0


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProcess]:
    base = tmp_path_factory.mktemp("c8")
    with FakeUpstream() as fake:
        config_path = write_stack_files(base, reliability_config(fake.url, 9), reliability_rules())
        running = start_recorded(config_path, args=("--no-watch", "--header-timeout", str(HEAD_TIMEOUT)))
        try:
            yield running
        finally:
            running.stop()


def _closed(sock: socket.socket) -> bool:
    """True once the peer has closed (EOF or reset); False while it is open and silent."""
    try:
        data = sock.recv(65536)
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return data == b"" or _closed(sock)


def _trickle_until_closed(sock: socket.socket, head: bytes, limit: float = 6.0) -> float:
    """Send `head` a byte every 0.2 s until the proxy closes; seconds it took (inf: never)."""
    started = time.monotonic()
    for byte in head:
        if time.monotonic() - started > limit:
            break
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - started
        if _closed(sock):
            return time.monotonic() - started
        time.sleep(0.15)
    return float("inf")


def _full_response(sock: socket.socket) -> bytes:
    """One response with a content-length, read whole."""
    sock.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = next(int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length"))
    while len(body) < length:
        body += sock.recv(65536)
    return head


SLOW_HEAD = b"GET /nope HTTP/1.1\r\nHost: x\r\n" + b"x-slow: " + b"a" * 200 + b"\r\n\r\n"


def test_c8_a_trickled_first_head_is_cut_at_the_total_deadline(proxy: RunningProcess) -> None:
    with connect(proxy, timeout=0.05) as sock:
        took = _trickle_until_closed(sock, SLOW_HEAD)
    assert took < 6, "a head trickled a byte at a time must be cut by a total deadline"


def test_c8_a_connection_that_sends_nothing_is_closed_too(proxy: RunningProcess) -> None:
    with connect(proxy, timeout=0.05) as sock:
        deadline = time.monotonic() + 6
        while not _closed(sock) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert time.monotonic() < deadline


def test_c8_kept_alive_connection_idles_freely_but_its_next_head_has_the_deadline(proxy: RunningProcess) -> None:
    with connect(proxy, timeout=0.05) as sock:
        sock.sendall(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _full_response(sock).startswith(b"HTTP/1.1 404")
        time.sleep(HEAD_TIMEOUT * 1.5)  # idle between requests: Sanic's keep-alive timeout governs that
        sock.sendall(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _full_response(sock).startswith(b"HTTP/1.1 404")
        sock.settimeout(0.05)
        took = _trickle_until_closed(sock, SLOW_HEAD)
    assert took < 6
