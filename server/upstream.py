"""The shared upstream HTTP client: one pooled httpx.AsyncClient per worker, bytes in, bytes out.

Timeouts: connect is short; reads have no httpx deadline because the exchange enforces first-byte and
idle deadlines itself (they differ per phase, and a stream has no total deadline). Redirects are never
followed (a 302 to a metadata address must not receive a key).

Requests go straight to the client's transport (`UpstreamClient`): httpx's client layer would add a
cookie jar (a proxy must not carry one upstream's cookies into another client's requests), and its
auth, redirect and cookie machinery costs ~0.2 ms of CPU per request on a 126 KB body.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import math
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING

import httpx

from engine.snapshot import ResolvedProvider
from engine.wire.types import UpstreamRequest
from server.retry import retry_after_seconds
from server.upstream_tls import upstream_ssl_context

if TYPE_CHECKING:
    import ssl

    import aiohttp
    from aiohttp.client_reqrep import ConnectionKey
    from aiohttp.tracing import Trace

# Never sent upstream whatever a wire module or config says (RFC 9110 7.6.1 and framing).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)

# Upstream response headers worth passing to the client (retry hints, rate limits, request id).
FORWARDED_RESPONSE_PREFIXES = ("anthropic-ratelimit-", "x-ratelimit-")
FORWARDED_RESPONSE_HEADERS = frozenset({"retry-after", "retry-after-ms", "x-should-retry", "request-id"})

TRANSPORTS = ("aiohttp", "httpx")
POOL_FULL = "proxy overloaded: no upstream connection free"  # the 529 for httpx.PoolTimeout

# aiohttp reports a request that timed out waiting for a free pooled connection with the same
# ConnectionTimeoutError as a connect that timed out (httpx-aiohttp maps both to ConnectTimeout). The
# connector marks the requesting task while it waits for a slot, so open_response raises PoolTimeout
# then, as httpx's own pool does: the proxy is overloaded, the upstream is not unreachable. Only a
# request that has to wait pays for the mark (aiohttp's trace hooks would cost ~20 us every request).
_POOL_WAITING: contextvars.ContextVar[bool] = contextvars.ContextVar("cc_proxy_pool_waiting", default=False)


class UpstreamClient(httpx.AsyncClient):
    """An AsyncClient that remembers its transport, so `open_response` can call it directly."""

    def __init__(self, transport: httpx.AsyncBaseTransport, **kwargs: object) -> None:
        super().__init__(transport=transport, **kwargs)  # type: ignore[arg-type]
        self.upstream_transport = transport
        # httpx's default headers (user-agent, accept, ...), sent first on every direct request.
        self.default_headers = {k: v for k, v in self.headers.items() if k != "accept-encoding"}


def create_client(transport: str = "aiohttp", *, max_connections: int = 512) -> httpx.AsyncClient:
    """`aiohttp`: httpx's API over aiohttp's connection pool (measured faster, see the report);
    `httpx`: httpx's own httpcore pool."""
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    if transport == "aiohttp":
        try:
            import httpx_aiohttp
        except ImportError:  # an install without the optional transport still works, a little slower
            logging.getLogger("cc_proxy").warning("httpx-aiohttp is not installed: using httpx's own pool")
            return create_client("httpx", max_connections=max_connections)
        pool = httpx_aiohttp.AiohttpTransport(limits=limits, trust_env=False, verify=upstream_ssl_context())
        pool.client = _session_factory(max_connections, pool.ssl_context)  # built on the first request
        return UpstreamClient(pool, follow_redirects=False, trust_env=False)
    if transport == "httpx":
        return UpstreamClient(
            httpx.AsyncHTTPTransport(limits=limits, trust_env=False, verify=upstream_ssl_context()),
            follow_redirects=False,
            trust_env=False,
        )
    raise ValueError(f"unknown upstream transport {transport!r} (expected one of {', '.join(TRANSPORTS)})")


def _session_factory(max_connections: int, ssl_context: ssl.SSLContext) -> Callable[[], aiohttp.ClientSession]:
    """aiohttp's session as httpx-aiohttp would build it (certifi's trust store), without a cookie jar."""

    def make() -> aiohttp.ClientSession:
        import aiohttp

        connector = _connector_class()(limit=max_connections, ssl=ssl_context)
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    return make


@functools.cache
def _connector_class() -> type[aiohttp.TCPConnector]:
    """Built on first use: aiohttp is imported only when the aiohttp transport is."""
    import aiohttp

    class PoolConnector(aiohttp.TCPConnector):
        async def _wait_for_available_connection(self, key: ConnectionKey, traces: list[Trace]) -> None:
            # aiohttp's wait for a slot of a full pool (test_c11_pool_timeout.py fails if it is renamed).
            # Awaited in the requesting task, so the mark is in open_response's context.
            _POOL_WAITING.set(True)
            await super()._wait_for_available_connection(key, traces)
            _POOL_WAITING.set(False)  # not reached when the wait times out

    return PoolConnector


@functools.lru_cache(maxsize=256)
def _url(url: str) -> httpx.URL:
    return httpx.URL(url)  # parsed once per provider and path


@functools.lru_cache(maxsize=32)
def _timeout(connect: float) -> dict[str, float | None]:
    return httpx.Timeout(connect=connect, read=None, write=connect * 6, pool=connect).as_dict()


def upstream_headers(
    request: UpstreamRequest, provider: ResolvedProvider, credentials: Mapping[str, str]
) -> dict[str, str]:
    """Wire-module headers, then the provider's configured headers, then the credential (wins last)."""
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
    for name, value in provider.headers.items():
        if name.lower() not in HOP_BY_HOP:
            headers[name] = value
    headers.update(credentials)
    return headers


async def open_response(
    client: httpx.AsyncClient,
    provider: ResolvedProvider,
    request: UpstreamRequest,
    credentials: Mapping[str, str],
    *,
    connect_timeout: float,
) -> httpx.Response:
    """Send the request; return once the status line and headers are in (the body is not read)."""
    headers = upstream_headers(request, provider, credentials)
    url = _url(provider.base_url + request.path)
    transport = getattr(client, "upstream_transport", None)
    if transport is None:  # a plain httpx client (tests): its full send path
        timeout = httpx.Timeout(**_timeout(connect_timeout))
        built = client.build_request("POST", url, content=request.body, headers=headers, timeout=timeout)
        return await client.send(built, stream=True)
    merged: dict[str, str] = dict(client.default_headers)  # type: ignore[attr-defined]
    for name, value in headers.items():
        merged.pop(name.lower(), None)  # defaults are lower-case; ours win whatever their case
        merged[name] = value
    extensions = {"timeout": _timeout(connect_timeout)}
    built = httpx.Request("POST", url, content=request.body, headers=merged, extensions=extensions)
    _POOL_WAITING.set(False)  # an earlier request of this task may have left its wait by cancellation
    try:
        response: httpx.Response = await transport.handle_async_request(built)
    except httpx.ConnectTimeout as exc:
        if _POOL_WAITING.get():
            raise httpx.PoolTimeout("no pooled upstream connection became free in time") from exc
        raise
    return response


def body_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body as it arrives, straight from the transport's stream when nothing needs decoding.
    httpx's aiter_bytes adds two async-generator layers (byte accounting, decoding, re-chunking) to every
    chunk, and an upstream stream arrives in about one chunk per event."""
    stream = response.stream
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity") and isinstance(stream, httpx.AsyncByteStream):
        return stream.__aiter__()
    return response.aiter_bytes()  # gzip and the like: httpx decodes (aiohttp's decompression is off)


def forwarded_response_headers(headers: httpx.Headers) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers.items():
        if name in FORWARDED_RESPONSE_HEADERS or name.startswith(FORWARDED_RESPONSE_PREFIXES):
            out[name] = value
    retry_after = out.get("retry-after")
    if retry_after is not None and not retry_after.isdigit():
        # Clients (Claude Code, the SDKs) read integer seconds; an HTTP-date becomes its distance from now.
        seconds = retry_after_seconds({"retry-after": retry_after})
        if seconds is None:
            del out["retry-after"]
        else:
            out["retry-after"] = str(math.ceil(seconds))
    return out
