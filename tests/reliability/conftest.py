"""Fixtures for the reliability catalogue (../shared/reliability.md section 2, one test per scenario).

Every proxy started here runs at `--log-level debug`, and its log and every response read through
`Rel.post`/`capture` are recorded, so the canary scan (X3, test_zz_x3_canary_scan.py, collected last)
can search all of it, DEBUG lines included, for provider keys.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PROXY_LOGS, RunningProcess
from tests.fakes.server import FakeUpstream
from tests.server.conftest import CLIENT_KEY, RULES, Stack, base_config, start_proxy, write_stack_files

# Everything the proxies said during this session: response heads/bodies captured here, and every proxy
# log (tests.conftest.PROXY_LOGS: all proxies of the session, each at DEBUG).
CAPTURED: list[bytes] = []
LOG_PATHS: list[Path] = PROXY_LOGS

OK: dict[str, Any] = {"model": "claude-x", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
STREAM: dict[str, Any] = {**OK, "stream": True}

EXTRA_RULES = [
    {"id": "to-dns", "when": {"model": {"glob": "dns-*"}}, "model": "dns"},
    {"id": "to-tls", "when": {"model": {"glob": "tls-*"}}, "model": "tls"},
]


def capture(response: httpx.Response) -> httpx.Response:
    """Keep the status line, headers and body for the canary scan."""
    head = f"{response.status_code}\n" + "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    CAPTURED.append(head.encode() + b"\n\n" + response.content)
    return response


class Rel(Stack):
    def post(
        self, path: str, body: Any, headers: Mapping[str, str] | None = None, *, timeout: float = 10
    ) -> httpx.Response:
        return capture(super().post(path, body, headers, timeout=timeout))


def plain_tcp_port() -> tuple[socket.socket, int]:
    """A listener that accepts and answers nothing TLS can parse (a plaintext HTTP reply)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                try:
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                except OSError:
                    pass

    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1]


def reliability_config(fake_url: str, tls_port: int, **server: Any) -> dict[str, Any]:
    config = base_config(fake_url, **server)
    config["providers"]["dns"] = {
        "format": "anthropic",
        "base_url": "https://api.cc-proxy-test.invalid",
        "api_key": "${CC_TEST_ANTHROPIC_KEY}",
    }
    config["providers"]["tls"] = {
        "format": "anthropic",
        "base_url": f"https://127.0.0.1:{tls_port}",
        "api_key": "${CC_TEST_ANTHROPIC_KEY}",
    }
    config["models"]["dns"] = {"provider": "dns", "model": "dns-model"}
    config["models"]["tls"] = {"provider": "tls", "model": "tls-model"}
    return config


def reliability_rules() -> dict[str, Any]:
    return {"routing": [*EXTRA_RULES, *RULES["routing"]]}


def connect(proxy: RunningProcess, *, timeout: float = 5.0) -> socket.socket:
    """A raw TCP connection to the proxy (connect within 5 s), reads bounded by `timeout`."""
    host, port = proxy.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.settimeout(timeout)
    return sock


def start_recorded(config_path: Path, *, args: tuple[str, ...] = (), **kw: Any) -> RunningProcess:
    """A proxy at DEBUG (as every test proxy; a `--log-level` in `args` wins) whose log the scan reads."""
    return start_proxy(config_path, args=args, **kw)


@dataclass
class Extra:
    tls_listener: socket.socket


@pytest.fixture(scope="module")
def module_rel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rel]:
    base = tmp_path_factory.mktemp("rel")
    listener, tls_port = plain_tcp_port()
    with FakeUpstream() as fake:
        config_path = write_stack_files(base, reliability_config(fake.url, tls_port), reliability_rules())
        proxy = start_recorded(config_path, args=("--eject-after", "0", "--retry-stop-after", "0"))
        try:
            yield Rel(fake, proxy, config_path)
        finally:
            proxy.stop()
            listener.close()


@pytest.fixture
def rel(module_rel: Rel) -> Rel:
    module_rel.reset()
    return module_rel


def sse_events(text: str) -> list[str]:
    return [line[len("event: "):] for line in text.splitlines() if line.startswith("event: ")]


def wait_for_log(
    proxy: RunningProcess, match: Callable[[dict[str, Any]], bool], timeout: float = 5.0
) -> list[dict[str, Any]]:
    """The proxy's log entries that `match`, as soon as there is one (a line is written after the
    response); [] once `timeout` has passed without any."""
    deadline = time.monotonic() + timeout
    while True:
        found = [entry for entry in log_entries(proxy) if match(entry)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def logged_for(proxy: RunningProcess, request_id: str) -> list[dict[str, Any]]:
    """The log entries of one request (its `request-id` response header)."""
    return wait_for_log(proxy, lambda entry: entry.get("request_id") == request_id)


def log_entries(proxy: RunningProcess) -> list[dict[str, Any]]:
    """The proxy's JSON log lines (other lines, such as the startup banner, are skipped)."""
    entries = []
    for line in proxy.log().splitlines():
        if line.startswith("{"):
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue
    return entries


__all__ = ["CLIENT_KEY", "OK", "STREAM", "Rel", "capture", "log_entries", "sse_events"]
