"""The shared upstream HTTP client: one pooled httpx.AsyncClient per worker, bytes in, bytes out.

Timeouts: connect is short; reads have no httpx deadline because the exchange enforces first-byte and
idle deadlines itself (they differ per phase, and a stream has no total deadline). Redirects are never
followed (a 302 to a metadata address must not receive a key).

Requests go straight to the client's transport (`UpstreamClient`): httpx's client layer would add a
cookie jar (a proxy must not carry one upstream's cookies into another client's requests), and its
auth, redirect and cookie machinery costs ~0.2 ms of CPU per request on a 126 KB body.
"""

from __future__ import annotations

import functools
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import httpx

from cc_proxy.engine.errors import ProxyError
from cc_proxy.engine.snapshot import ResolvedProvider
from cc_proxy.engine.wire.types import UpstreamRequest
from cc_proxy.server.decoded_body import decoded_chunks, needs_decoding
from cc_proxy.server.retry import retry_after_seconds
from cc_proxy.server.upstream_tls import upstream_ssl_context

# (method, URL, headers, body, connect=, pool=) -> the answer, its body not read: AiohttpTransport.request
SendParts = Callable[..., Awaitable[httpx.Response]]

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
# Decoded bytes of one compressed answer, JSON or stream: Anthropic's own request limit, as the answer cap.
MAX_DECODED_BODY = 32 * 1024 * 1024


class UpstreamClient(httpx.AsyncClient):
    """An AsyncClient that remembers its transport, so `open_response` can call it directly."""

    def __init__(
        self, transport: httpx.AsyncBaseTransport, send_parts: SendParts | None = None, **kwargs: object
    ) -> None:
        super().__init__(transport=transport, **kwargs)  # type: ignore[arg-type]
        self.upstream_transport = transport
        self.send_parts = send_parts  # the transport's entry taking a request's parts, when it has one
        # httpx's default headers (user-agent, accept, ...), sent first on every direct request.
        self.default_headers = {k: v for k, v in self.headers.items() if k != "accept-encoding"}


def create_client(transport: str = "aiohttp", *, max_connections: int = 512) -> httpx.AsyncClient:
    """`aiohttp`: httpx's API over aiohttp's connection pool (server/aiohttp_transport.py, measured
    faster, see bench/README.md); `httpx`: httpx's own httpcore pool."""
    if transport == "aiohttp":
        from cc_proxy.server.aiohttp_transport import AiohttpTransport  # aiohttp is imported only for this one

        pool = AiohttpTransport(max_connections=max_connections, ssl_context=upstream_ssl_context())
        return UpstreamClient(pool, pool.request, follow_redirects=False, trust_env=False)
    if transport == "httpx":
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        return UpstreamClient(
            httpx.AsyncHTTPTransport(limits=limits, trust_env=False, verify=upstream_ssl_context()),
            follow_redirects=False,
            trust_env=False,
        )
    raise ValueError(f"unknown upstream transport {transport!r} (expected one of {', '.join(TRANSPORTS)})")


@functools.lru_cache(maxsize=256)
def _url(url: str) -> httpx.URL:
    return httpx.URL(url)  # parsed once per provider and path


@functools.lru_cache(maxsize=32)
def _timeout(connect: float) -> dict[str, float | None]:
    return httpx.Timeout(connect=connect, read=None, write=connect * 6, pool=connect).as_dict()


_UNSENDABLE = ("\r", "\n", "\0")


def refuse_unsendable_headers(*header_sets: Mapping[str, str]) -> None:
    """A 400 naming the first header whose value holds a CR, LF or NUL (a client's `anthropic-beta`,
    `x-app`, a forwarded key): it cannot go on the wire, and the HTTP client would fail on it with a 500.
    Provider headers from the config are checked at load (engine.resolve)."""
    for headers in header_sets:
        for name, value in headers.items():
            if any(c in value for c in _UNSENDABLE):
                raise ProxyError(
                    400, f"header {name[:100]!r}: a CR, LF or NUL character cannot be forwarded", should_retry=False
                )


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
    target = provider.base_url + request.path
    transport = getattr(client, "upstream_transport", None)
    if transport is None:  # a plain httpx client (tests): its full send path
        timeout = httpx.Timeout(**_timeout(connect_timeout))
        built = client.build_request("POST", _url(target), content=request.body, headers=headers, timeout=timeout)
        return await client.send(built, stream=True)
    merged: dict[str, str] = dict(client.default_headers)  # type: ignore[attr-defined]
    for name, value in headers.items():
        merged.pop(name.lower(), None)  # defaults are lower-case; ours win whatever their case
        merged[name] = value
    send_parts = client.send_parts  # type: ignore[attr-defined]
    if send_parts is not None:  # the aiohttp transport: no httpx.Request to build
        response: httpx.Response = await send_parts(
            "POST", target, merged, request.body, connect=connect_timeout, pool=connect_timeout
        )
    else:
        extensions = {"timeout": _timeout(connect_timeout)}
        built = httpx.Request("POST", _url(target), content=request.body, headers=merged, extensions=extensions)
        response = await transport.handle_async_request(built)
    return response


def body_chunks(response: httpx.Response, decoded_limit: int = MAX_DECODED_BODY) -> AsyncIterator[bytes]:
    """The body as it arrives, straight from the transport's stream (httpx's aiter_bytes adds two
    async-generator layers to every chunk, and a stream arrives in about one chunk per event). A
    compressed body is decoded here, a bounded step at a time and at most `decoded_limit` bytes in all
    (server/decoded_body.py: decompression bombs); aiohttp's and httpx's own decoding never run."""
    stream = response.stream
    raw = stream.__aiter__() if isinstance(stream, httpx.AsyncByteStream) else response.aiter_raw()
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if not needs_decoding(encoding):
        return raw
    return decoded_chunks(raw, encoding, decoded_limit)


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
