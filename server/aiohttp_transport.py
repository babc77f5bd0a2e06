"""httpx's transport API over aiohttp's connection pool, with a lean entry for the proxy's own requests.

The upstream client stays an httpx.AsyncClient and answers are httpx.Responses; aiohttp moves the bytes
(measured faster than httpx's own pool, bench/README.md). `request` takes the parts the proxy already
has (method, URL, headers, body) and wraps aiohttp's answer in an httpx.Response directly: no
httpx.Request to build and no generic adapter around each call and each chunk, ~70 us less per 126 KB
request than the httpx-aiohttp package this replaces (bench/client_layer_bench.py).
`handle_async_request` serves any httpx.Request the same way.

aiohttp's errors become the httpx errors httpx's own transport raises for the same fault, so both
transports read alike to server/exchange.py. A request that timed out waiting for a free pooled
connection is httpx.PoolTimeout: aiohttp reports it with the same ConnectionTimeoutError as a connect
that timed out, so the connector marks the requesting task while it waits for a slot (only a request
that has to wait pays for the mark; aiohttp's trace hooks would cost ~20 us on every request).
"""

from __future__ import annotations

import contextvars
import functools
import ssl
from collections.abc import AsyncIterator, Mapping

import aiohttp
import httpx
from aiohttp.client_reqrep import ConnectionKey
from aiohttp.tracing import Trace
from yarl import URL

_POOL_WAITING: contextvars.ContextVar[bool] = contextvars.ContextVar("cc_proxy_pool_waiting", default=False)


class _PoolConnector(aiohttp.TCPConnector):
    async def _wait_for_available_connection(self, key: ConnectionKey, traces: list[Trace]) -> None:
        # aiohttp's wait for a slot of a full pool (test_c11_pool_timeout.py fails if it is renamed).
        # Awaited in the requesting task, so the mark is in `request`'s context.
        _POOL_WAITING.set(True)
        await super()._wait_for_available_connection(key, traces)
        _POOL_WAITING.set(False)  # not reached when the wait times out


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session (built on the first request, inside the running loop), no cookie jar, no
    proxy from the environment, redirects never followed, bodies never decompressed here (httpx
    decodes a gzip answer from the raw bytes)."""

    def __init__(self, *, max_connections: int, ssl_context: ssl.SSLContext) -> None:
        self.max_connections = max_connections
        self.ssl_context = ssl_context
        self._session: aiohttp.ClientSession | None = None

    def _open_session(self) -> aiohttp.ClientSession:
        connector = _PoolConnector(limit=self.max_connections, ssl=self.ssl_context)
        self._session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | list[tuple[str, str]],
        body: bytes,
        *,
        connect: float | None,
        read: float | None = None,
        pool: float | None = None,
    ) -> httpx.Response:
        """Send; return once the status line and headers are in, the body still to read.
        `connect`: the TCP (and TLS) connect; `pool`: the wait for a pooled connection plus the
        connect; `read`: the longest pause between two reads of the answer (None: no limit)."""
        session = self._session or self._open_session()
        _POOL_WAITING.set(False)  # an earlier request of this task may have left its wait by cancellation
        try:
            answer = await session.request(
                method,
                _parsed(url),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                auto_decompress=False,
                compress=False,
                timeout=_client_timeout(connect, read, pool),
            )
        except aiohttp.ClientError as exc:
            raise _httpx_error(exc) from exc
        extensions = {"http_version": b"HTTP/1.1"}
        return httpx.Response(answer.status, headers=answer.raw_headers, stream=_Body(answer), extensions=extensions)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        response = await self.request(
            request.method,
            str(request.url),
            request.headers.multi_items(),
            await request.aread(),
            connect=timeout.get("connect"),
            read=timeout.get("read"),
            pool=timeout.get("pool"),
        )
        response.request = request
        return response

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class _Body(httpx.AsyncByteStream):
    """The answer's body as aiohttp reads it (chunks as they arrive); closing an unfinished body closes
    its connection instead of returning it to the pool."""

    __slots__ = ("_answer",)

    def __init__(self, answer: aiohttp.ClientResponse) -> None:
        self._answer = answer

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._answer.content.iter_any():
                yield chunk
        except aiohttp.ClientError as exc:
            raise _httpx_error(exc) from exc

    async def aclose(self) -> None:
        self._answer.release()
        await self._answer.wait_for_close()


def _httpx_error(exc: aiohttp.ClientError) -> httpx.TransportError:
    """The httpx error for an aiohttp one; the message is kept (it names TLS verification failures)."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.SocketTimeoutError):  # a read pause longer than `read`
        return httpx.ReadTimeout(message)
    if isinstance(exc, aiohttp.ServerTimeoutError):  # aiohttp's `connect`: the pool wait plus the connect
        if _POOL_WAITING.get():
            return httpx.PoolTimeout("no pooled upstream connection became free in time")
        return httpx.ConnectTimeout(message)
    if isinstance(exc, aiohttp.ClientConnectorError):  # refused, unreachable, DNS, TLS handshake or certificate
        return httpx.ConnectError(message)
    if isinstance(exc, aiohttp.ServerDisconnectedError):  # closed before a whole answer head
        return httpx.RemoteProtocolError(message)
    if isinstance(exc, aiohttp.ClientPayloadError):  # the body ended early or its framing is broken
        return httpx.RemoteProtocolError(message)
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(message)
    if isinstance(exc, aiohttp.ClientResponseError):  # an answer head that is not HTTP
        return httpx.RemoteProtocolError(message)
    if isinstance(exc, aiohttp.ClientConnectionError):  # reset or broken pipe mid-exchange
        return httpx.ReadError(message)
    return httpx.TransportError(message)


@functools.lru_cache(maxsize=256)
def _parsed(url: str) -> URL:
    return URL(url)  # parsed once per provider and path


@functools.lru_cache(maxsize=64)
def _client_timeout(connect: float | None, read: float | None, pool: float | None) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read, connect=pool)
