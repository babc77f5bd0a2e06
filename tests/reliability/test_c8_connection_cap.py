"""C8 slowloris, second half: a cap on open connections per peer address (server/connection_cap.py,
`serve --max-connections-per-ip`). This proxy allows 5; every connection here comes from 127.0.0.1,
which is not exempt. A connection is known to be counted once it has been answered (kept alive after)."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator

import pytest

from cc_proxy.server.connection_cap import ConnectionCapProtocol, server_protocol
from cc_proxy.server.header_deadline import HeaderDeadlineProtocol
from tests.conftest import RunningProcess
from tests.reliability.conftest import (
    connect,
    log_entries,
    reliability_config,
    reliability_rules,
    start_recorded,
)
from tests.server.conftest import write_stack_files

CAP = 5
REQUEST = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProcess]:
    base = tmp_path_factory.mktemp("c8cap")
    config_path = write_stack_files(base, reliability_config("http://127.0.0.1:9", 9), reliability_rules())
    # A long head deadline: the idle connections here must stay open until the test closes them.
    running = start_recorded(
        config_path, args=("--no-watch", "--header-timeout", "60", "--max-connections-per-ip", str(CAP))
    )
    try:
        yield running
    finally:
        running.stop()


def _answered(sock: socket.socket) -> bool:
    """Send a request; True if a whole response head came back, False if the proxy closed instead."""
    try:
        sock.sendall(REQUEST)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return False
            data += chunk
    except (ConnectionResetError, BrokenPipeError):
        return False
    if not data.startswith(b"HTTP/1.1 200"):
        raise AssertionError(f"unexpected answer {data[:80]!r}")
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = next(int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length"))
    while len(body) < length:
        body += sock.recv(65536)
    return True


def _closed_at_once(sock: socket.socket) -> bool:
    """True if the proxy closes this connection without being sent anything (EOF or reset)."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _open_counted(proxy: RunningProcess, n: int) -> list[socket.socket]:
    socks = [connect(proxy) for _ in range(n)]
    assert all(_answered(sock) for sock in socks), "connections within the cap must be served"
    return socks


def _served_once_freed(proxy: RunningProcess) -> bool:
    """A new connection is served once the proxy has seen earlier closes (it learns of them
    asynchronously): retried for a while, each refused attempt closed at once."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connect(proxy) as sock:
            if _answered(sock):
                return True
        time.sleep(0.05)
    return False


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset (SO_LINGER 0), the rudest way a client can leave."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_c8_the_connection_over_the_cap_is_closed_at_once_and_a_freed_slot_serves_again(
    proxy: RunningProcess,
) -> None:
    held = _open_counted(proxy, CAP)
    try:
        with connect(proxy) as extra:
            assert _closed_at_once(extra), "the 6th connection from one address must be closed before any byte"
        with connect(proxy) as extra:
            assert not _answered(extra), "nor may it be served if it sends a request right away"
        for sock in held[:2]:
            sock.close()
        held = held[2:]
        assert _served_once_freed(proxy), "closing connections must give their slots back"
        held += _open_counted(proxy, 2)  # back at the cap
        with connect(proxy) as extra:
            assert _closed_at_once(extra)
        assert all(_answered(sock) for sock in held), "connections within the cap are untouched by refusals"
    finally:
        for sock in held:
            sock.close()


def test_c8_the_count_never_leaks_however_connections_end(proxy: RunningProcess) -> None:
    for round_ in range(30):
        socks = [connect(proxy) for _ in range(CAP)]
        if round_ % 3 == 0:
            assert all(_answered(sock) for sock in socks)  # served, then closed politely
            for sock in socks:
                sock.close()
        elif round_ % 3 == 1:
            for sock in socks:
                sock.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\ncontent-le")  # a head cut short
                _reset(sock)
        else:
            for sock in socks:
                _reset(sock)  # never sent a byte
    for _ in range(20):  # refused connections must not move the count either
        with connect(proxy) as sock:
            _reset(sock)
    assert _served_once_freed(proxy)
    # Every slot came back: exactly CAP connections are served, and the next one is refused.
    deadline = time.monotonic() + 10
    while True:
        held = [connect(proxy) for _ in range(CAP)]
        try:
            if all(_answered(sock) for sock in held):
                with connect(proxy) as extra:
                    assert _closed_at_once(extra)
                return
        finally:
            for sock in held:
                sock.close()
        assert time.monotonic() < deadline, "slots stay taken after every connection closed: the count leaked"
        time.sleep(0.1)  # the proxy has not yet seen all the resets: try again


def test_c8_refusals_are_logged_at_most_once_a_second_per_address(proxy: RunningProcess) -> None:
    held = _open_counted(proxy, CAP)
    time.sleep(1.1)  # past the log window of any refusal an earlier test made
    before = sum(1 for e in log_entries(proxy) if e.get("event") == "connection_refused")
    started = time.monotonic()
    try:
        for _ in range(100):
            with connect(proxy) as extra:
                assert _closed_at_once(extra)
        elapsed = time.monotonic() - started
    finally:
        for sock in held:
            sock.close()
    refused = [e for e in log_entries(proxy) if e.get("event") == "connection_refused"]
    new = refused[before:]
    assert 1 <= len(new) <= int(elapsed) + 2, f"{len(new)} refusal lines for 100 refusals in {elapsed:.1f} s"
    assert new[0]["peer"] == "127.0.0.1" and new[0]["limit"] == CAP and new[0]["level"] == "warning"


def test_c8_no_cap_means_no_counting_and_each_server_counts_apart() -> None:
    uncapped = server_protocol(10.0, 0)
    assert issubclass(uncapped, HeaderDeadlineProtocol) and not issubclass(uncapped, ConnectionCapProtocol)
    first, second = server_protocol(10.0, 3), server_protocol(2.0, 4)
    assert issubclass(first, ConnectionCapProtocol) and issubclass(second, ConnectionCapProtocol)
    assert (first.max_per_ip, second.max_per_ip, second.header_timeout) == (3, 4, 2.0)
    assert first.open_per_ip is not second.open_per_ip
