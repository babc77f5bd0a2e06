"""A failed upstream connection names its real cause, and a cause that cannot heal in seconds (a host
name that does not resolve, a certificate that fails) is retried by nobody: not by the proxy, and not
by the client, which `x-should-retry: false` stops (the Anthropic SDKs and Claude Code honour it; Claude
Code otherwise retries a 502 ten times with growing waits)."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import httpx
import pytest

from cc_proxy.server.connect_errors import connect_failure
from tests.conftest import ProxyFactory
from tests.e2e.claude_cli import run_claude
from tests.fakes.server import FakeUpstream
from tests.fakes.tls import CA


def wrapped(cause: BaseException) -> httpx.ConnectError:
    """As both transports raise it: the OS or TLS error is in the chain (`raise ... from exc`)."""
    try:
        try:
            raise cause
        except BaseException as exc:
            raise httpx.ConnectError("Cannot connect to host") from exc
    except httpx.ConnectError as err:
        return err


def refused() -> ConnectionRefusedError:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: a connection to it is refused
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        except ConnectionRefusedError as exc:
            return exc
    raise AssertionError("the connection was not refused")


def test_each_cause_is_named_and_only_the_healing_ones_are_retryable() -> None:
    no_name = connect_failure(wrapped(socket.gaierror(socket.EAI_NONAME, "Name or service not known")),
                              "api.example.com", 443)
    assert (no_name.reason, no_name.heals) == ("host name api.example.com does not resolve", False)
    again = connect_failure(wrapped(socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")),
                            "api.example.com", 443)
    assert again.heals and "could not be resolved now" in again.reason
    gone = connect_failure(wrapped(refused()), "127.0.0.1", 9)
    assert (gone.reason, gone.heals) == ("connection refused by 127.0.0.1:9", True)
    cert = ssl.SSLCertVerificationError(1, "certificate verify failed")
    cert.verify_message = "self-signed certificate in certificate chain"
    tls = connect_failure(wrapped(cert), "h", 443)
    assert (tls.reason, tls.heals) == ("TLS verification failed: self-signed certificate in certificate chain", False)


def config(upstreams: dict[str, str]) -> dict[str, object]:
    return {
        "providers": {name: {"format": "anthropic", "base_url": url, "api_key": "sk-ant-provider-0123456789"}
                      for name, url in upstreams.items()},
        "models": {name: {"provider": name, "model": f"{name}-model"} for name in upstreams},
        "routes": {"default": next(iter(upstreams))},
        "server": {"retries": {"max": 2, "base": 0.01, "cap": 0.05}},
    }


REQUEST = {"model": "x", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}


def test_refused_is_named_and_retried_but_tls_is_neither_retried_nor_retryable(
    proxy_server: ProxyFactory
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_port = closed.getsockname()[1]
        with FakeUpstream(ssl_context=_untrusted_context()) as tls:
            proxy = proxy_server(config({"tls": tls.url, "dead": f"http://127.0.0.1:{dead_port}"}))
            untrusted = httpx.post(proxy.url + "/v1/messages", json=REQUEST)
            down = httpx.post(proxy.url + "/v1/messages", json={**REQUEST, "model": "dead"})
    assert untrusted.status_code == 502
    assert "TLS verification failed: " in untrusted.json()["error"]["message"]
    assert untrusted.headers["x-should-retry"] == "false"
    assert down.status_code == 502
    assert down.json()["error"]["message"] == (
        f"could not connect to upstream dead (127.0.0.1): connection refused by 127.0.0.1:{dead_port}"
    )
    assert "x-should-retry" not in down.headers  # it may heal: the client's own retries stay on
    lines = proxy.request_lines(2)
    assert '"attempts":1' in lines[0] and '"attempts":3' in lines[1], lines  # tls once; refused: 1 + 2 retries


def _untrusted_context() -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    CA().issue_cert("127.0.0.1").configure_cert(context)  # a fresh root in no trust store
    return context


def test_claude_code_does_not_retry_a_cause_that_cannot_heal(proxy_server: ProxyFactory, tmp_path: Path) -> None:
    with FakeUpstream(ssl_context=_untrusted_context()) as tls:
        proxy = proxy_server(config({"tls": tls.url}))
        run = run_claude("say hi", base_url=proxy.url, scratch=tmp_path, args=("--bare",), timeout=120)
    assert run.returncode != 0
    assert "TLS verification failed" in run.stdout + run.stderr, run.describe()
    requests = [line for line in proxy.log().splitlines() if '"event":"request"' in line]
    assert len(requests) == 1, requests  # one request: neither Claude Code nor the proxy tried again


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
