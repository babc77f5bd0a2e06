"""Relay a committed upstream stream to the client, chunk by chunk, never buffering the answer.

After the first byte the status is sent, so failures become an in-band `event: error` and the stream
ends without a fabricated `message_stop` (reliability U11/U12/U15). A client disconnect cancels the
handler task; the `finally` closes the upstream response at once (C1).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import httpx
from sanic.response import HTTPResponse

from engine.snapshot import ServerSettings
from engine.wire.errors import in_band_error_event
from engine.wire.sse import encode
from server.exchange import Committed
from server.wire_registry import StreamAdapter

log = logging.getLogger("cc_proxy")

PING = b'event: ping\ndata: {"type": "ping"}\n\n'


class StreamOutcome:
    __slots__ = ("error", "events_bytes")

    def __init__(self) -> None:
        self.error: str | None = None  # why the stream ended early, None when complete
        self.events_bytes = 0


def in_band_error(error_type: str, message: str) -> bytes:
    """The stream's last event when it cannot finish: clients raise it as an API error."""
    return encode(in_band_error_event(error_type, message))


async def relay(sink: HTTPResponse, committed: Committed, settings: ServerSettings) -> StreamOutcome:
    """Send held bytes, then the rest; returns how it ended. The upstream response is always closed."""
    adapter = committed.adapter
    chunks = committed.chunks
    assert adapter is not None and chunks is not None
    outcome = StreamOutcome()
    try:
        await sink.send(committed.held)
        outcome.events_bytes += len(committed.held)
        if adapter.needs_pings:
            await _pump_with_pings(sink, chunks, adapter, settings, outcome)
        else:
            await _pump(sink, chunks, adapter, settings.idle_timeout, outcome)
        tail = adapter.finish()
        if tail:
            await sink.send(tail)
        if not adapter.complete and not adapter.errored:
            outcome.error = "upstream stream ended before message_stop"
            await sink.send(in_band_error("api_error", outcome.error))
        elif adapter.errored:  # an error event already reached the client: still log the stream as failed
            outcome.error = "stream ended with an error event"
    except TimeoutError:
        outcome.error = f"upstream stream silent for {settings.idle_timeout:g} s"
        await sink.send(in_band_error("timeout_error", outcome.error))
    except httpx.TransportError as exc:
        outcome.error = f"upstream connection lost mid-stream: {type(exc).__name__}"
        await sink.send(in_band_error("api_error", outcome.error))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # unreadable event, or over the size cap
        outcome.error = f"upstream stream unreadable: {type(exc).__name__}"
        await sink.send(in_band_error("api_error", outcome.error))
    finally:
        await committed.response.aclose()
    return outcome


async def _pump(
    sink: HTTPResponse, chunks: AsyncIterator[bytes], adapter: StreamAdapter, idle: float, outcome: StreamOutcome
) -> None:
    """Anthropic upstreams send their own pings: a per-chunk idle deadline is all that is needed."""
    while True:
        async with asyncio.timeout(idle):
            try:
                chunk = await anext(chunks)
            except StopAsyncIteration:
                return
        out = adapter.feed(chunk)
        if out:
            outcome.events_bytes += len(out)
            await sink.send(out)


async def _next(chunks: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await anext(chunks)
    except StopAsyncIteration:
        return None


async def _pump_with_pings(
    sink: HTTPResponse,
    chunks: AsyncIterator[bytes],
    adapter: StreamAdapter,
    settings: ServerSettings,
    outcome: StreamOutcome,
) -> None:
    """Translated upstreams may stay silent for minutes (reasoning): ping the client every
    ping_interval without cancelling the pending read, give up after idle_timeout of silence."""
    pending: asyncio.Task[bytes | None] | None = None
    silent = 0.0
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(_next(chunks))
            done, _ = await asyncio.wait((pending,), timeout=settings.ping_interval)
            if not done:
                silent += settings.ping_interval
                if silent >= settings.idle_timeout:
                    raise TimeoutError
                await sink.send(PING)
                continue
            silent = 0.0
            chunk = pending.result()
            pending = None
            if chunk is None:
                return
            out = adapter.feed(chunk)
            if out:
                outcome.events_bytes += len(out)
                await sink.send(out)
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
