"""U9 (../shared/reliability.md section 2): an upstream whose certificate fails verification is a 502
"TLS verification failed", never retried (with or without verification), and never sent the request.

The TLS fake is FakeUpstream with a server context from a throwaway CA (tests/fakes/tls.py). Through
the real `cc-proxy serve` process the CA is untrusted (the proxy trusts certifi's roots only). Wrong
hostname needs a CA the proxy trusts and the proxy has no per-provider CA option, so that case runs
in-process: the product's own upstream client (`server.upstream.create_client`) with the test CA added
to its SSL context, driven through `server.exchange.run` on a snapshot loaded from a config file, as
the request handler does.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from cc_proxy.engine.decide import decide
from cc_proxy.server.config_files import load_from_disk
from cc_proxy.server.exchange import Committed, Exchange, run
from cc_proxy.server.retry import RetryBudget
from cc_proxy.server.upstream import create_client
from tests.conftest import RunningProcess
from tests.fakes import anthropic_stream as A
from tests.fakes.server import FakeUpstream
from tests.fakes.tls import CA
from tests.reliability.conftest import OK, STREAM, capture, log_entries, start_recorded
from tests.server.conftest import (
    ANTHROPIC_KEY,
    CLIENT_KEY,
    PROXY_ENV,
    RULES,
    assert_no_canary,
    base_config,
    write_stack_files,
)

TLS_RULES = [
    {"id": "to-selfsigned", "when": {"model": {"glob": "ss-*"}}, "model": "selfsigned"},
    {"id": "to-selfsigned-fb", "when": {"model": {"glob": "ssfb-*"}}, "route": "selfSignedThenBackup"},
]


def tls_config(plain_url: str, tls_url: str) -> dict[str, Any]:
    """The shared test config plus an Anthropic provider at `tls_url`, alone and with a fallback."""
    config = base_config(plain_url)
    config["providers"]["selfsigned"] = {
        "format": "anthropic",
        "base_url": tls_url,
        "api_key": "${CC_TEST_ANTHROPIC_KEY}",
    }
    config["models"]["selfsigned"] = {"provider": "selfsigned", "model": "tls-model"}
    config["routes"]["selfSignedThenBackup"] = {"model": "selfsigned", "fallbacks": ["backup"]}
    return config


def server_context(ca: CA, *hosts: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*hosts).configure_cert(context)
    return context


def attempts_at(fake: FakeUpstream, ca: CA, since: int) -> list[tuple[str, int]]:
    """The TCP connections the fake accepted after the first `since`, once every connection made so far
    is in: a probe connection (trusting `ca`, so its own handshake succeeds) is accepted after all of them."""
    context = ssl.create_default_context()
    context.check_hostname = False  # the probe only needs a handshake that completes
    ca.configure_trust(context)
    with socket.create_connection(("127.0.0.1", fake.port), timeout=5) as raw:
        probe = raw.getsockname()[:2]
        with context.wrap_socket(raw):
            earlier = fake.wait_for_connection(probe)
    return earlier[since:]


@dataclass
class Tls:
    plain: FakeUpstream  # the healthy fallback (and the shared config's other providers)
    tls: FakeUpstream  # certificate from `ca`, which the proxy does not trust
    ca: CA
    proxy: RunningProcess

    def post(self, body: dict[str, Any]) -> httpx.Response:
        headers = {"content-type": "application/json", "x-api-key": CLIENT_KEY}
        return capture(httpx.post(self.proxy.url + "/v1/messages", json=body, headers=headers, timeout=10))


@pytest.fixture(scope="module", params=["aiohttp", "httpx"])
def tls_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tls]:
    """A proxy per upstream transport (`serve --upstream-transport`): each has its own TLS stack."""
    base = tmp_path_factory.mktemp("u9")
    ca = CA()  # a fresh self-signed root: in no trust store
    with FakeUpstream() as plain, FakeUpstream(ssl_context=server_context(ca, "127.0.0.1")) as tls:
        rules = {"routing": [*TLS_RULES, *RULES["routing"]]}
        config_path = write_stack_files(base, tls_config(plain.url, tls.url), rules)
        args = ("--eject-after", "0", "--retry-stop-after", "0", "--upstream-transport", request.param)
        proxy = start_recorded(config_path, args=args)
        try:
            yield Tls(plain, tls, ca, proxy)
        finally:
            proxy.stop()


def _request_log(proxy: RunningProcess, model: str) -> dict[str, Any]:
    entries = [e for e in log_entries(proxy) if e.get("model") == model]
    assert len(entries) == 1, entries
    return entries[0]


@pytest.mark.parametrize("body", [OK, STREAM], ids=["json", "stream"])
def test_u9_untrusted_certificate_is_502_tls_verification_failed_tried_once(tls_stack: Tls, body: Any) -> None:
    model = "ss-json" if body is OK else "ss-stream"
    tls = tls_stack.tls
    since, failures = len(tls.connections), len(tls.tls_failures)
    response = tls_stack.post({**body, "model": model})

    assert response.status_code == 502, response.text
    assert response.headers["content-type"].startswith("application/json")
    payload = response.json()
    assert payload["type"] == "error" and payload["error"]["type"] == "api_error", payload
    message = payload["error"]["message"]
    assert "TLS verification failed" in message and "127.0.0.1" in message, message
    # One connection, whose handshake never completed (the proxy's aiohttp/uvloop client sends its alert
    # and drops the socket, so the fake may see a reset rather than `unknown ca`): no retry with or
    # without verification (a client not verifying would have finished the handshake and sent a request).
    assert len(attempts_at(tls, tls_stack.ca, since)) == 1
    assert len(tls.wait_for_tls_failures(failures + 1)[failures:]) == 1
    assert tls.requests == []
    assert tls_stack.plain.requests == []  # no fallback configured for this route
    entry = _request_log(tls_stack.proxy, model)
    assert entry["status"] == 502 and entry["attempts"] == 1, entry
    assert_no_canary(response.text + repr(response.headers) + tls_stack.proxy.log())


def test_u9_untrusted_certificate_fails_over_to_the_fallback(tls_stack: Tls) -> None:
    tls = tls_stack.tls
    tls_stack.plain.always("/compat/v1/messages", A.auto(A.message(A.text("from backup"))))
    since = len(tls.connections)
    response = tls_stack.post({**OK, "model": "ssfb-x"})

    assert response.status_code == 200, response.text
    assert response.json()["content"][0]["text"] == "from backup"
    assert len(attempts_at(tls, tls_stack.ca, since)) == 1  # the TLS target once, then the fallback
    assert tls.requests == []
    assert [r.path for r in tls_stack.plain.requests] == ["/compat/v1/messages"]
    entry = _request_log(tls_stack.proxy, "ssfb-x")
    assert entry["status"] == 200 and entry["attempts"] == 2, entry
    assert_no_canary(response.text + repr(response.headers) + tls_stack.proxy.log())


# -- wrong hostname: in-process, with the test CA added to the product client's trust ----------------


async def _exchange(config_path: Path, ca: CA) -> tuple[int, bytes, int]:
    """One non-stream request for `ss-x` through the handler's path: decide, then `run` on the product's
    default (aiohttp) upstream client trusting `ca` as well as certifi's roots."""
    snapshot = load_from_disk(str(config_path), env=PROXY_ENV).snapshot
    client = create_client()
    ca.configure_trust(client.upstream_transport.ssl_context)  # type: ignore[attr-defined]
    headers = {"content-type": "application/json", "x-api-key": CLIENT_KEY}
    try:
        decision = decide(snapshot, {**OK, "model": "ss-x"}, headers, None)
        exchange = Exchange(snapshot, client, headers, False, RetryBudget())
        result = await run(exchange, decision)
        if isinstance(result, Committed):
            await result.response.aclose()
            return 200, result.held, exchange.attempts
        return result.status, result.body, exchange.attempts
    finally:
        await client.aclose()


@pytest.mark.parametrize("hosts", [("api.cc-proxy-other.test",), ("127.0.0.2",)], ids=["dns-name", "ip"])
def test_u9_trusted_certificate_for_another_host_is_tls_verification_failed(
    tmp_path: Path, hosts: tuple[str, ...]
) -> None:
    ca = CA()
    with FakeUpstream() as plain, FakeUpstream(ssl_context=server_context(ca, *hosts)) as tls:
        config_path = write_stack_files(tmp_path, tls_config(plain.url, tls.url), {"routing": TLS_RULES})
        status, body, attempts = asyncio.run(_exchange(config_path, ca))
        assert status == 502, body
        assert b"TLS verification failed" in body, body
        assert attempts == 1
        assert len(attempts_at(tls, ca, 0)) == 1
        assert len(tls.wait_for_tls_failures(1)) == 1
        assert tls.requests == []
        assert ANTHROPIC_KEY.encode() not in body


def test_u9_control_the_same_client_and_ca_accept_the_right_host(tmp_path: Path) -> None:
    """Without this, the wrong-hostname test could pass because the CA was never trusted."""
    ca = CA()
    with FakeUpstream() as plain, FakeUpstream(ssl_context=server_context(ca, "127.0.0.1")) as tls:
        tls.always("/v1/messages", A.auto(A.message(A.text("over tls"))))
        config_path = write_stack_files(tmp_path, tls_config(plain.url, tls.url), {"routing": TLS_RULES})
        status, body, attempts = asyncio.run(_exchange(config_path, ca))
        assert status == 200, body
        assert b"over tls" in body
        assert attempts == 1 and tls.tls_failures == []
        assert [r.headers.get("x-api-key") for r in tls.requests] == [ANTHROPIC_KEY]
