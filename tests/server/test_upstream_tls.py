"""server/upstream_tls.py: the upstream client's TLS context is httpx's default (certifi's roots), with
the roots loaded at the first TLS connection. Real handshakes against a TLS fake upstream on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import ssl

import certifi
import httpx
import pytest

from cc_proxy.server.upstream import create_client
from cc_proxy.server.upstream_tls import upstream_ssl_context
from tests.fakes import FakeUpstream
from tests.fakes.anthropic_stream import auto, message, text
from tests.fakes.tls import CA

SETTINGS = (
    "protocol",
    "verify_mode",
    "check_hostname",
    "options",
    "verify_flags",
    "minimum_version",
    "maximum_version",
    "post_handshake_auth",
)


def _reference() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certifi.where())  # what httpx.create_ssl_context() builds


def _server_context(ca: CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


def _roots(context: ssl.SSLContext) -> int:
    return int(context.cert_store_stats()["x509_ca"])


def test_settings_are_those_of_httpx_default_context() -> None:
    ours, reference = upstream_ssl_context(), _reference()
    assert {name: getattr(ours, name) for name in SETTINGS} == {name: getattr(reference, name) for name in SETTINGS}
    assert ours.verify_mode is ssl.CERT_REQUIRED and ours.check_hostname is True
    assert _roots(ours) == 0  # nothing loaded yet
    assert _roots(reference) > 50


def test_first_asyncio_handshake_loads_certifi_roots_and_rejects_an_unknown_ca() -> None:
    context = upstream_ssl_context()
    with FakeUpstream(ssl_context=_server_context(CA())) as fake:

        async def connect() -> None:
            await asyncio.open_connection("127.0.0.1", fake.port, ssl=context)

        with pytest.raises(ssl.SSLCertVerificationError):
            asyncio.run(connect())
    assert _roots(context) == _roots(_reference())


def test_blocking_handshake_loads_the_roots_too() -> None:
    context = upstream_ssl_context()
    with (
        FakeUpstream(ssl_context=_server_context(CA())) as fake,
        socket.create_connection(("127.0.0.1", fake.port), timeout=5) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        context.wrap_socket(raw, server_hostname="127.0.0.1")
    assert _roots(context) == _roots(_reference())


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
def test_both_transports_verify_with_certifi_roots_plus_an_added_ca(transport: str) -> None:
    """A CA added before the first connection (tests, or a deployment's private CA) is trusted alongside
    certifi's roots, not instead of them; an unknown CA is still refused."""
    trusted, unknown = CA(), CA()
    reply = auto(message(text("hi")))
    with (
        FakeUpstream(ssl_context=_server_context(trusted)) as good,
        FakeUpstream(ssl_context=_server_context(unknown)) as bad,
    ):
        good.always("/v1/messages", reply)
        bad.always("/v1/messages", reply)

        async def exchange() -> tuple[int, str, ssl.SSLContext]:
            client = create_client(transport)
            transport_context = _transport_context(client)
            trusted.configure_trust(transport_context)
            try:
                ok = await client.post(good.url + "/v1/messages", content=b"{}")
                try:
                    await client.post(bad.url + "/v1/messages", content=b"{}")
                    failure = "none"
                except httpx.TransportError as exc:  # aiohttp's maps to ConnectTimeout, httpcore's to ConnectError
                    failure = repr(exc)
                return ok.status_code, failure, transport_context
            finally:
                await client.aclose()

        status, failure, context = asyncio.run(exchange())
    assert status == 200
    assert "CERTIFICATE_VERIFY_FAILED" in failure and len(bad.requests) == 0
    assert _roots(context) == _roots(_reference()) + 1


def _transport_context(client: httpx.AsyncClient) -> ssl.SSLContext:
    transport = client.upstream_transport  # type: ignore[attr-defined]
    if hasattr(transport, "ssl_context"):  # server/aiohttp_transport.py
        return transport.ssl_context  # type: ignore[no-any-return]
    return transport._pool._ssl_context  # type: ignore[no-any-return]  # httpx's own pool (httpcore)
