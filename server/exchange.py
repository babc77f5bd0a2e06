"""One client request against its targets: attempts, retries, fallbacks and the first-chunk gate.

Everything here happens before the client has seen a byte, so any failure can still become a retry, a
fallback or a proper HTTP error. The result is either `Committed` (a 2xx answer whose first event or
whole body is in hand) or `Failed` (an Anthropic error body and its status, ready to send).
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import orjson

from cc_proxy.engine.context_fit import overflow_tokens, roomier
from cc_proxy.engine.decide import Decision, retarget
from cc_proxy.engine.emulate import prepare
from cc_proxy.engine.errors import ProxyError
from cc_proxy.engine.snapshot import ResolvedModel, ServerSettings, Snapshot
from cc_proxy.engine.wire.errors import snippet
from cc_proxy.engine.wire.replay import replay
from cc_proxy.engine.wire.sse import SSEDecoder
from cc_proxy.engine.wire.tool_repair import ToolRepair, Validators, repair_for
from cc_proxy.engine.wire.types import SSEEvent, TranslationContext, UpstreamRequest, UsageNote
from cc_proxy.server.breaker import Breaker
from cc_proxy.server.connect_errors import connect_failure
from cc_proxy.server.credentials import credential_headers
from cc_proxy.server.decoded_body import DecodedTooLarge, UnsupportedEncoding
from cc_proxy.server.errors import STATUS_BY_ERROR_TYPE, bad_request, error_body
from cc_proxy.server.hooks import HookContext, copy_payload
from cc_proxy.server.key_pool import KeyLease, KeyPools, pooled
from cc_proxy.server.pdf_text import pdf_text
from cc_proxy.server.retry import RETRYABLE_STATUSES, RetryBudget, backoff, retry_delay
from cc_proxy.server.scrub import Scrubber, scrubber_for
from cc_proxy.server.upstream import (
    POOL_FULL,
    body_chunks,
    forwarded_response_headers,
    open_response,
    refuse_unsendable_headers,
)
from cc_proxy.server.wire_registry import (
    ErrorAnswer,
    NotAMessage,
    ReplayedStream,
    StreamAdapter,
    StreamBroken,
    WireAdapter,
    wire_for,
)

MAX_ERROR_BODY = 1024 * 1024  # an upstream error body larger than this is cut (it is only an error)
# Non-stream answers; larger is a 502, memory stays bounded. Anthropic's own request limit: an answer
# (at most max_tokens of output) is far smaller.
MAX_RESPONSE_BODY = 32 * 1024 * 1024
SNIPPET = 200
# Claude Code's requests are ~4.4 bytes of compact JSON per cl100k token (its real requests in
# shared/claude-code/fixtures: 4.3-4.5): the size-based stand-in for a count.
BYTES_PER_TOKEN = 4.4
CONNECT_RETRY_CAP = 0.2  # seconds: a refused connection fails fast, so the client hears within ~1 s


@dataclass(slots=True)
class Committed:
    decision: Decision
    response: httpx.Response  # open: the caller closes it
    adapter: StreamAdapter | None  # None for a non-stream answer
    held: bytes  # stream: translated bytes read so far (the first event); non-stream: the whole answer
    chunks: AsyncIterator[bytes] | None
    headers: dict[str, str]  # upstream headers worth forwarding
    attempts: int
    scrub: Callable[[bytes], bytes] = lambda data: data  # cleans an upstream error event of known secrets


@dataclass(slots=True)
class Failed:
    decision: Decision
    status: int
    body: bytes  # an Anthropic error body
    headers: dict[str, str] = field(default_factory=dict)
    retry_in: float | None = None  # seconds before the same target may be retried; None: do not
    failover: bool = True  # False for caller errors: a fallback would fail the same way
    attempts: int = 0
    target_fault: bool = True  # counts towards ejecting the target (not caller or config errors)
    upstream_status: int = 0  # the upstream's own HTTP status, when it answered with an error


@dataclass(slots=True)
class Exchange:
    snapshot: Snapshot
    client: httpx.AsyncClient
    client_headers: Mapping[str, str]
    stream: bool
    budget: RetryBudget
    breaker: Breaker | None = None
    attempts: int = 0  # upstream requests sent so far, retries and fallbacks included (the log's `attempts`)
    body_size: int = 0  # the client's request body, in bytes: a translated stream's first estimate
    headers_at: float = 0.0  # perf_counter() when the last attempt's response headers arrived
    tried: list[tuple[str, str, str]] = field(default_factory=list)  # (provider, alias, outcome) per attempt
    scrubber: Scrubber | None = None  # built at the first upstream error (server/scrub.py)
    usage_note: UsageNote | None = None  # the committed attempt's translator notes (engine.wire.types)
    # provider format -> wire; a front door (server/inbound.py) puts its own in for its native format
    wires: Callable[[str], WireAdapter] = wire_for
    pools: KeyPools | None = None
    session: str | None = None  # the client's session id: a pooled key sticks to it
    lease: KeyLease | None = None  # the pooled key in use, until `release`
    passed: list[str] = field(default_factory=list)  # target aliases given up on, in order, and why
    validators: Validators | None = None  # the worker's tool-schema validators (tool-call repair)
    repair: ToolRepair | None = None  # the last target's tool-call repair: how many calls it mended
    request_id: str = ""

    def scrub(self, data: bytes) -> bytes:
        """`data` from an upstream (an error body or event) without any secret the proxy knows."""
        if self.scrubber is None:
            self.scrubber = scrubber_for(self.snapshot, self.client_headers)
        return self.scrubber.bytes(data)

    def release(self) -> None:
        """The pooled key is no longer in flight (the answer ended, or another target takes over)."""
        if self.lease is not None:
            self.lease.release()
            self.lease = None


def new_id(prefix: str) -> str:
    return prefix + "01" + secrets.token_hex(11)


def translation_context(
    snapshot: Snapshot,
    decision: Decision,
    body_size: int = 0,
    context_management: Mapping[str, Any] | None = None,
    repair: ToolRepair | None = None,
) -> TranslationContext:
    target = decision.target
    requested = decision.requested_model
    upstream_name = target.upstream_model or requested
    stop = decision.request.get("stop_sequences")
    translated = target.provider.format != "anthropic"
    features = decision.features

    def early() -> int:
        # A stream's message_start comes before the upstream's usage (which follows in message_delta):
        # the count when a rule already made it, else the request's size, not the tokenizer (~45 MB).
        return features.tokens if features.tokens_computed else round(body_size / BYTES_PER_TOKEN)

    return TranslationContext(
        requested_model=requested,
        target=target,
        response_model=requested if snapshot.server.response_model == "requested" else upstream_name,
        new_id=new_id,
        # Only translated upstreams may omit usage; the estimate is costly: counted only when an answer
        # comes without usage, never for Anthropic targets.
        count_input_tokens=(lambda: features.tokens) if translated else None,
        early_input_tokens=early if translated and body_size > 0 else None,
        stop_sequences=tuple(s for s in stop if isinstance(s, str)) if isinstance(stop, list) else (),
        context_management=context_management,
        omit_thinking=_thinking_omitted(decision.request),
        tool_repair=repair if translated else None,
    )


def _thinking_omitted(request: Mapping[str, Any]) -> bool:
    thinking = request.get("thinking")
    return isinstance(thinking, dict) and thinking.get("display") == "omitted"


def hook_context(ex: Exchange, decision: Decision) -> HookContext:
    return HookContext.of(decision, ex.request_id, ex.stream, ex.client_headers)


async def run(ex: Exchange, decision: Decision) -> Committed | Failed:
    """Try the target, then its fallbacks in order; return the first success or the last failure.
    An ejected target is skipped while a fallback remains (server/breaker.py); an upstream's context
    overflow moves to a fallback with a larger context, when one is configured (engine.context_fit)."""
    current = decision
    breaker = ex.breaker
    while True:
        key = current.target.alias
        if breaker is not None and current.fallbacks and not breaker.admit(key):
            ex.passed.append(f"{key} (ejected)")
            current = retarget(ex.snapshot, current, current.fallbacks[0].alias)
            continue
        result = await _try_target(ex, current)
        if breaker is not None:
            if isinstance(result, Committed):
                breaker.success(key)
            elif result.target_fault and result.status >= 500:
                breaker.failure(key)
            else:
                breaker.settled(key)
        if isinstance(result, Committed):
            return result
        if not result.failover:
            roomier = _roomier_fallback(current, result)
            if roomier is None:
                return result
            ex.passed.append(f"{key} (prompt is too long)")
            current = retarget(ex.snapshot, current, roomier.alias)
            continue
        if not current.fallbacks:
            return result
        ex.passed.append(f"{key} ({result.upstream_status or result.status})")
        current = retarget(ex.snapshot, current, current.fallbacks[0].alias)


def _roomier_fallback(decision: Decision, result: Failed) -> ResolvedModel | None:
    """For an upstream's `prompt is too long`, the first fallback whose context is larger."""
    if result.status != 400 or not decision.fallbacks:
        return None
    try:
        body = orjson.loads(result.body)
    except orjson.JSONDecodeError:
        return None
    needed = overflow_tokens(body) if isinstance(body, dict) else None
    return None if needed is None else roomier(decision.target, decision.fallbacks, needed)


async def _try_target(ex: Exchange, decision: Decision) -> Committed | Failed:
    settings = ex.snapshot.server
    target = decision.target
    provider = target.provider
    ex.release()  # a key of the previous target's pool
    pools = ex.pools
    lease = ex.lease = KeyLease(pools, provider, ex.session) if pools is not None and pooled(provider) else None
    try:
        key = lease.key if lease is not None else None
        credentials = credential_headers(provider, ex.client_headers, settings.auth_token, key)
        wire = ex.wires(provider.format)
    except ProxyError as err:
        return _proxy_failure(decision, err)
    except LookupError as err:
        return _proxy_failure(decision, ProxyError(500, str(err), should_retry=False))
    request = decision.request
    hooks = ex.snapshot.hooks
    added: dict[str, str] = {}
    if hooks is not None and hooks.request is not None:  # raises HookFailed: the handler answers 500
        hook_ctx = hook_context(ex, decision)
        request = await hooks.request(copy_payload(request), hook_ctx)
        added = hook_ctx.upstream_headers
    prepared = prepare(target, request, decision.features, ex.client_headers, pdf_text)
    try:
        upstream_request = wire.build_request(target, prepared.request, prepared.headers)
        if added:  # a request hook's headers, checked like every other header
            headers = {**upstream_request.headers, **{str(k).lower(): str(v) for k, v in added.items()}}
            upstream_request = replace(upstream_request, headers=headers)
        refuse_unsendable_headers(upstream_request.headers, credentials)
    except orjson.JSONEncodeError:  # a translation nested one level past what orjson writes
        return _proxy_failure(decision, bad_request(f"request is nested too deeply to send to {target.provider.name}"))
    except ProxyError as err:
        return _proxy_failure(decision, err)
    ex.repair = repair_for(decision.request, target, ex.validators)
    ctx = translation_context(ex.snapshot, decision, ex.body_size, prepared.context_management, ex.repair)
    attempt = 0  # this target's attempt index, 0-based: also the retries already made to it
    while True:
        ex.attempts += 1
        result = await _attempt(ex, decision, wire, upstream_request, credentials, ctx, attempt)
        if lease is not None:
            if isinstance(result, Committed):
                lease.succeeded()
            elif lease.moved_on(result.upstream_status, result.headers):  # another key, at once
                credentials = credential_headers(provider, ex.client_headers, settings.auth_token, lease.key)
                continue
        if isinstance(result, Committed):
            ex.usage_note = ctx.usage_note
            ex.budget.succeeded(target.alias)
            ex.tried.append((target.provider.name, target.alias, "success"))
            return result
        ex.tried.append((target.provider.name, target.alias, "error"))
        result.attempts = ex.attempts
        if result.target_fault and (result.retry_in is not None or result.status >= 500):
            ex.budget.failed(target.alias)
        if result.retry_in is None or attempt >= settings.retry_max or not ex.budget.allows(target.alias):
            return result
        ex.budget.retrying += 1
        try:
            await asyncio.sleep(result.retry_in)
        finally:
            ex.budget.retrying -= 1
        attempt += 1
        if lease is not None:  # after the wait, the key that rests the shortest (maybe the same one)
            lease.renew()
            credentials = credential_headers(provider, ex.client_headers, settings.auth_token, lease.key)


async def _attempt(
    ex: Exchange,
    decision: Decision,
    wire: WireAdapter,
    upstream_request: UpstreamRequest,
    credentials: Mapping[str, str],
    ctx: TranslationContext,
    attempt: int,
) -> Committed | Failed:
    settings = ex.snapshot.server
    provider = decision.target.provider
    deadline = settings.first_byte_timeout if ex.stream else settings.first_byte_timeout_nonstream
    response: httpx.Response | None = None
    committed = False
    try:
        async with asyncio.timeout(deadline):
            response = await open_response(
                ex.client, provider, upstream_request, credentials, connect_timeout=settings.connect_timeout
            )
            ex.headers_at = time.perf_counter()
            forwarded = forwarded_response_headers(response.headers)
            content_type = response.headers.get("content-type", "")
            if response.status_code >= 300:
                body = await _read_error_body(ex, response)
                return _status_failure(
                    decision, wire, response.status_code, body, content_type, forwarded, attempt, settings
                )
            if ex.stream:
                if content_type.startswith("application/json"):  # `stream` ignored upstream: replay it
                    replayed = await _replayed(ex, decision, wire, response, ctx, forwarded)
                    if isinstance(replayed, Failed):
                        return _retry_delay_set(replayed, forwarded, attempt, settings)
                    return replayed
                if not content_type.startswith("text/event-stream"):
                    body = await _read_error_body(ex, response)
                    return _unexpected(decision, provider.name, response.status_code, content_type, body)
                adapter = wire.stream(ctx)
                chunks = body_chunks(response)
                gate = await _first_event(chunks, adapter, decision, ex.scrub)
                if isinstance(gate, Failed):
                    if gate.retry_in is not None:  # retryable like an HTTP answer with that status
                        bursty = _bursty(decision)
                        gate.retry_in = retry_delay(gate.status, forwarded, attempt, settings, backoff_429=bursty)
                    return gate
                if isinstance(gate, StreamBroken):  # whole events, then an unreadable one: the relay
                    chunks = _failing(StreamBroken(str(gate), b""))  # sends them, then its in-band error
                    gate = gate.good
                committed = True
                return Committed(decision, response, adapter, gate, chunks, forwarded, ex.attempts, ex.scrub)
            if not content_type.startswith("application/json"):
                body = await _read_error_body(ex, response)
                return _unexpected(decision, provider.name, response.status_code, content_type, body)
            translated_or_failed = await _read_answer(decision, wire, response, ctx, ex.scrub)
            if isinstance(translated_or_failed, Failed):
                return _retry_delay_set(translated_or_failed, forwarded, attempt, settings)
            committed = True
            return Committed(decision, response, None, translated_or_failed, None, forwarded, ex.attempts)
    except TimeoutError:
        return _failure(
            decision, 504, f"upstream {provider.name} sent no response within {deadline:g} s", retry_in=None
        )
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        url = httpx.URL(provider.base_url)
        cause = connect_failure(exc, url.host, url.port)
        # Nothing was sent, so a quick retry is safe when the cause can heal in seconds; a name that does
        # not resolve or a certificate that fails (reliability U9) is retried by nobody, the client included.
        retry = min(backoff(attempt, settings), CONNECT_RETRY_CAP) if cause.heals else None
        message = f"could not connect to upstream {provider.name} ({url.host}): {cause.reason}"
        failed = _failure(decision, 502, message, retry_in=retry)
        if not cause.heals:
            failed.headers["x-should-retry"] = "false"
        return failed
    except httpx.PoolTimeout:
        # The proxy's own pool is full: overload here, not a failing target. No ejection, no fallback
        # (it shares the pool), and a hint when to come back, as the in-flight limit's 529 gives.
        body = error_body(529, POOL_FULL)
        return Failed(decision, 529, body, {"retry-after": "1"}, failover=False, target_fault=False)
    except httpx.TransportError as exc:
        return _failure(
            decision,
            502,
            f"upstream {provider.name} connection failed: {type(exc).__name__}",
            retry_in=backoff(attempt, settings),
        )
    finally:
        if response is not None and not committed:
            await response.aclose()


async def _first_event(
    chunks: AsyncIterator[bytes], adapter: StreamAdapter, decision: Decision, scrub: Callable[[bytes], bytes]
) -> bytes | Failed | StreamBroken:
    """First-chunk gate: hold translated bytes until one whole event is out. An `error` event first
    means nothing was generated: report it with its status instead of a 200 stream (reliability U13).
    A failure's `retry_in` is only a marker here (None: do not retry); the caller sets the delay.
    StreamBroken: the first event is whole, an unreadable one came in the same read (`good` holds all
    the whole events before it), so the answer is the same as when they arrive in separate reads."""
    gate = SSEDecoder()
    held: list[bytes] = []
    try:
        async for chunk in chunks:
            try:
                out = adapter.feed(chunk)
            except StreamBroken as exc:
                good = b"".join(held) + exc.good
                events = gate.feed(exc.good)
                if not events:
                    raise
                if events[0].event == "error":
                    return _in_band_failure(decision, events[0].data, scrub)
                return StreamBroken(str(exc), good)
            if not out:
                continue
            held.append(out)
            events = _first_events(gate, out)
            if events:
                first = events[0]
                if first.event == "error":
                    return _in_band_failure(decision, first.data, scrub)
                return b"".join(held)
        tail = adapter.finish()
    except (DecodedTooLarge, UnsupportedEncoding) as exc:
        return _failure(decision, 502, f"upstream {decision.target.provider.name} {exc}")
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # a broken first event (SSE too large, bad JSON)
        return _failure(decision, 502, f"upstream stream unreadable: {type(exc).__name__}")
    if tail:
        held.append(tail)
        events = gate.feed(tail)
        if events and events[0].event == "error":
            return _in_band_failure(decision, events[0].data, scrub)
    return _failure(decision, 502, "upstream closed the stream before sending an event", retry_in=0.0)


def _retry_delay_set(failed: Failed, headers: dict[str, str], attempt: int, settings: ServerSettings) -> Failed:
    """A failure marked retryable (`retry_in` 0.0) gets the delay an HTTP answer of its status would."""
    if failed.retry_in is not None:
        failed.retry_in = retry_delay(failed.status, headers, attempt, settings)
    return failed


def _first_events(gate: SSEDecoder, data: bytes) -> list[SSEEvent]:
    """The gate needs only the first event, and one chunk often holds the whole answer (~30 events):
    decode up to the first blank line, the rest only when no event ended there. The decoder is
    incremental, so this finds the same first event as decoding everything."""
    end = data.find(b"\n\n") + 2
    if 2 <= end < len(data):
        events = gate.feed(data[:end])
        return events if events else gate.feed(data[end:])
    return gate.feed(data)


async def _failing(exc: Exception) -> AsyncIterator[bytes]:
    """Chunks that end at once with `exc` (a stream already known to be broken)."""
    raise exc
    yield b""  # never reached: makes this an async generator


def _in_band_failure(decision: Decision, data: str, scrub: Callable[[bytes], bytes]) -> Failed:
    try:
        payload = orjson.loads(scrub(data.encode()))
        error = payload.get("error") if isinstance(payload, dict) else None
    except orjson.JSONDecodeError:
        error = None
    if not isinstance(error, dict):
        error = {"type": "api_error", "message": "upstream stream started with an unreadable error event"}
    status = STATUS_BY_ERROR_TYPE.get(str(error.get("type")), 500)
    body = orjson.dumps({"type": "error", "error": error})
    failover = status >= 429 or status == 408
    return Failed(decision, status, body, retry_in=0.0, failover=failover, upstream_status=status)


def _status_failure(
    decision: Decision,
    wire: WireAdapter,
    status: int,
    body: bytes,
    content_type: str,
    forwarded: dict[str, str],
    attempt: int,
    settings: ServerSettings,
) -> Failed:
    out_status, out_body = wire.error(status, body, content_type)
    if "retry-after" not in forwarded:
        wait = wire.retry_after(body)  # Gemini says it in the body (RetryInfo): the client hears it too
        if wait is not None:
            forwarded = {**forwarded, "retry-after": str(math.ceil(wait)), "retry-after-ms": str(round(wait * 1000))}
    caller_error = 400 <= out_status < 500 and out_status not in (408, 429)
    return Failed(
        decision,
        out_status,
        out_body,
        forwarded,
        retry_in=retry_delay(status, forwarded, attempt, settings, backoff_429=_bursty(decision)),
        failover=not caller_error,
        upstream_status=status,
    )


def _bursty(decision: Decision) -> bool:
    return decision.target.provider.profile.rate_limit_retry == "backoff"


def _unexpected(decision: Decision, provider: str, status: int, content_type: str, body: bytes) -> Failed:
    quoted = snippet(body, SNIPPET)  # one line, key-like strings redacted (exact secrets already are)
    message = f"upstream {provider} answered {status} with {content_type or 'no content type'}: {quoted!r}"
    return _failure(decision, 502, message)


def _failure(decision: Decision, status: int, message: str, retry_in: float | None = None) -> Failed:
    return Failed(decision, status, error_body(status, message), retry_in=retry_in)


def _proxy_failure(decision: Decision, err: ProxyError) -> Failed:
    headers = dict(err.headers)
    if err.should_retry is not None:
        headers["x-should-retry"] = "true" if err.should_retry else "false"
    return Failed(decision, err.status, orjson.dumps(err.body()), headers, target_fault=False)


async def _read_answer(
    decision: Decision,
    wire: WireAdapter,
    response: httpx.Response,
    ctx: TranslationContext,
    scrub: Callable[[bytes], bytes],
) -> bytes | Failed:
    """A whole JSON answer, translated to an Anthropic message; a 502 when too large or unreadable."""
    provider = decision.target.provider
    try:
        raw = await _read_capped(response, MAX_RESPONSE_BODY)
    except ValueError as exc:  # decompressed past the cap, a coding the proxy does not decode, corrupt
        return _failure(decision, 502, f"upstream {provider.name} {exc}")
    if raw is None:
        return _failure(decision, 502, f"upstream {provider.name} answer exceeds {MAX_RESPONSE_BODY} bytes")
    try:
        return wire.translate_response(raw, ctx)
    except ErrorAnswer as answer:  # retry_in is a marker (0.0: retryable); the caller sets the delay
        caller_error = 400 <= answer.status < 500 and answer.status not in (408, 429)
        retry_in = None if caller_error or answer.status not in RETRYABLE_STATUSES else 0.0
        return Failed(decision, answer.status, scrub(answer.body), retry_in=retry_in, failover=not caller_error)
    except NotAMessage:
        message = f"upstream {provider.name} answered 200 with JSON that is not a Messages response"
        return _failure(decision, 502, message)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return _failure(
            decision, 502, f"upstream {provider.name} sent an answer the proxy cannot read: {type(exc).__name__}"
        )


async def _replayed(
    ex: Exchange,
    decision: Decision,
    wire: WireAdapter,
    response: httpx.Response,
    ctx: TranslationContext,
    forwarded: dict[str, str],
) -> Committed | Failed:
    """A stream request answered with one JSON message: the events the Anthropic API would have sent
    for it (engine.wire.replay), all held at once; the relay sends them and ends."""
    translated = await _read_answer(decision, wire, response, ctx, ex.scrub)
    if isinstance(translated, Failed):
        return translated
    message = orjson.loads(translated)
    if not isinstance(message, dict) or message.get("type") != "message":
        return _failure(
            decision,
            502,
            f"upstream {decision.target.provider.name} answered a stream request with JSON that is not a message",
        )
    return Committed(decision, response, ReplayedStream(), replay(message), _no_chunks(), forwarded, ex.attempts)


async def _no_chunks() -> AsyncIterator[bytes]:
    return
    yield  # an async generator that yields nothing


async def _read_capped(response: httpx.Response, limit: int) -> bytes | None:
    """The whole body, or None as soon as it grows past `limit` (reading stops there). One growing
    buffer, no list of parts joined into a second copy: an answer over the cap costs about the cap
    (reliability U17); only a body within it is copied out, into immutable bytes for the translators."""
    buf = bytearray()
    async for chunk in body_chunks(response):
        buf += chunk
        if len(buf) > limit:
            return None
    return bytes(buf)


async def _read_error_body(ex: Exchange, response: httpx.Response) -> bytes:
    """An error body, cut at MAX_ERROR_BODY (it is only an error), cleaned of every known secret."""
    buf = bytearray()
    try:
        async for chunk in body_chunks(response, MAX_ERROR_BODY):
            buf += chunk
            if len(buf) >= MAX_ERROR_BODY:
                del buf[MAX_ERROR_BODY:]
                break
    except ValueError:  # compressed past the cap or unreadable: what was decoded so far is the error
        pass
    return ex.scrub(bytes(buf))
