"""Client side and bad input C1-C12 (../shared/reliability.md section 2): the parts nothing else tests."""

from __future__ import annotations

import os
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from tests.fakes import anthropic_stream as A
from tests.fakes.responses import Stream
from tests.fakes.server import FakeUpstream
from tests.reliability.conftest import (
    CLIENT_KEY,
    OK,
    STREAM,
    Rel,
    capture,
    logged_for,
    reliability_config,
    reliability_rules,
    sse_events,
    start_recorded,
)
from tests.server.conftest import write_stack_files


def test_c1_disconnect_mid_stream_closes_upstream_and_logs_499(rel: Rel) -> None:
    chunks = A.message_stream(A.message(A.text("a long answer " * 5)), pieces=40)
    rel.fake.always("/v1/messages", Stream(chunks, delay=0.2))
    with httpx.Client(timeout=10) as client, client.stream(
        "POST", rel.url + "/v1/messages", json=STREAM, headers={"x-api-key": CLIENT_KEY}
    ) as response:
        request_id = response.headers["request-id"]
        for _ in response.iter_raw():
            break
    upstream = rel.fake.wait_for_requests(1)[0]
    assert upstream.closed.wait(2)
    logged = logged_for(rel.proxy, request_id)
    assert logged and logged[-1]["status"] == 499, logged


def test_c6_chunked_body_over_the_limit_is_413(rel: Rel) -> None:
    piece = b"x" * (1024 * 1024)

    def body() -> Any:
        yield b'{"model": "m", "messages": [], "pad": "'
        for _ in range(40):  # 40 MiB > the 32 MiB cap, no content-length
            yield piece
        yield b'"}'

    try:
        response = capture(httpx.post(rel.url + "/v1/messages", content=body(), timeout=30,
                                      headers={"x-api-key": CLIENT_KEY, "content-type": "application/json"}))
    except httpx.HTTPError as exc:  # the proxy may answer and close before the client finished sending
        raise AssertionError(f"no 413 answer: {exc!r}") from None
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "request_too_large"
    assert rel.fake.requests == []


def test_c10_five_hundred_headers_are_refused_before_the_handler(rel: Rel) -> None:
    headers = {f"x-client-header-{i:03d}": "some-value" for i in range(500)}
    response = rel.post("/v1/messages", OK, headers)
    assert response.status_code in (413, 431)
    assert response.json()["type"] == "error"
    assert rel.fake.requests == []


def test_c8_trickling_header_connections_do_not_block_legitimate_requests(rel: Rel) -> None:
    """Scaled: 50 connections stuck in their headers (not 200 at 1 B/s for the 10 s deadline)."""
    rel.fake.always("/v1/messages", A.auto(A.message(A.text("ok"))))
    host, port = rel.url.removeprefix("http://").split(":")
    slow = []
    try:
        for _ in range(50):
            sock = socket.create_connection((host, int(port)))
            sock.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-slow: a")
            slow.append(sock)
        statuses = [rel.post("/v1/messages", OK).status_code for _ in range(20)]
        assert statuses == [200] * 20
    finally:
        for sock in slow:
            sock.close()


def test_c12_sigterm_during_20_open_streams(tmp_path: Path) -> None:
    """20 streams open (each 12 events 0.1 s apart); SIGTERM; each ends with message_stop or an in-band
    error, new connections are refused, the process exits 0."""
    with FakeUpstream() as fake:
        chunks = A.message_stream(A.message(A.text("one two three four")), pieces=4)
        fake.always("/v1/messages", Stream(chunks, delay=0.1))
        config_path = write_stack_files(tmp_path, reliability_config(fake.url, 9), reliability_rules())
        proxy = start_recorded(config_path, args=("--no-watch",))
        try:
            def one(_: int) -> str:
                with httpx.Client(timeout=20) as client:
                    response = client.post(proxy.url + "/v1/messages", json=STREAM, headers={"x-api-key": CLIENT_KEY})
                    capture(response)
                    return sse_events(response.text)[-1]

            with ThreadPoolExecutor(20) as pool:
                futures = [pool.submit(one, i) for i in range(20)]
                fake.wait_for_requests(20, timeout=10)
                os.kill(proxy.proc.pid, signal.SIGTERM)
                time.sleep(0.3)
                refused = False
                try:
                    httpx.post(proxy.url + "/v1/messages", json=OK, headers={"x-api-key": CLIENT_KEY}, timeout=2)
                except httpx.HTTPError:
                    refused = True
                endings = [f.result() for f in futures]
            assert refused, "a new connection was accepted after SIGTERM"
            assert all(end in ("message_stop", "error") for end in endings), endings
            assert endings.count("message_stop") == 20  # 1.2 s of stream is well inside the 15 s grace
            assert proxy.proc.wait(20) == 0
        finally:
            proxy.stop()


def test_c7_unknown_model_with_no_matching_rule_is_404_not_retried(tmp_path: Path) -> None:
    with FakeUpstream() as fake:
        config = reliability_config(fake.url, 9)
        del config["routes"]["default"]
        config_path = write_stack_files(tmp_path, config, reliability_rules())
        proxy = start_recorded(config_path, args=("--no-watch",))
        try:
            response = capture(httpx.post(proxy.url + "/v1/messages", json={**OK, "model": "no-rule-matches-me"},
                                          headers={"x-api-key": CLIENT_KEY}))
            assert response.status_code == 404, response.text
            assert response.json()["error"]["type"] == "not_found_error"
            assert response.headers["x-should-retry"] == "false"
            assert fake.requests == []
        finally:
            proxy.stop()



def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_c9_client_that_stops_reading_gets_back_pressure_not_buffering(rel: Rel) -> None:
    """A 20 MB answer to a client that reads nothing: the proxy holds at most socket buffers, not the
    answer (RSS grows < 10 MB), and the upstream is hung up once the client goes. (Closing the stalled
    client after the idle timeout: test_stream_deadlines.py.)"""
    rel.fake.add("/v1/messages", A.auto(A.message(A.text("ok"))))
    rel.fake.add("/v1/messages", Stream(A.message_stream(A.message(A.text("y" * 20_000_000)), pieces=2000)))
    rel.post("/v1/messages", OK)  # warm
    before = _rss_kib(rel.proxy.proc.pid)
    host, port = rel.url.removeprefix("http://").split(":")
    body = httpx.Request("POST", "http://x/v1/messages", json=STREAM).content
    head = (f"POST /v1/messages HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
            f"x-api-key: {CLIENT_KEY}\r\ncontent-length: {len(body)}\r\n\r\n").encode()
    with socket.socket() as stuck:
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect((host, int(port)))
        stuck.sendall(head + body)
        upstream = rel.fake.wait_for_requests(2)[1]
        # Paused, not drained into memory and finished (checked well before the 2 s stall deadline).
        assert not upstream.closed.wait(1.0)
        grown_mib = (_rss_kib(rel.proxy.proc.pid) - before) / 1024
        assert grown_mib < 10, grown_mib
    assert upstream.closed.wait(3), "the upstream must be hung up once the stuck client is gone"
