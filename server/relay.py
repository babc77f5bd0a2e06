"""Relay a committed upstream stream to the client, chunk by chunk, never buffering the answer.

After the first byte the status is sent. An upstream that breaks mid-way (connection lost, or closed
before its final event) is mirrored as a cut client connection: the whole events already in hand are
sent, then the connection closes with no terminating chunk, as a direct connection would look
(reliability U12: Claude Code retries a cut stream, but answers an invented `event: error` by falling
back to non-streaming with a lower `max_tokens`). The upstream's own error event is relayed as such,
and the proxy's own limits (idle timeout, an unreadable or oversize event) end the stream with an
in-band `event: error` (U11/U15); never a fabricated `message_stop`. A client disconnect cancels the
handler task; the `finally` closes the upstream response at once (C1).

One timer per stream (not per chunk) watches two deadlines: while the upstream is silent the client
gets a `ping` every ping_interval and, after idle_timeout, an in-band timeout (U11); a send the client
does not take for idle_timeout aborts its connection (C9: a client that does not read cannot be told
in-band) and the upstream is closed. Slow readers are fine: only one send waiting that long counts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

import httpx
from sanic.response import HTTPResponse

from cc_proxy.engine.snapshot import ServerSettings
from cc_proxy.engine.wire.errors import in_band_error_event
from cc_proxy.engine.wire.sse import encode
from cc_proxy.server.exchange import Committed
from cc_proxy.server.observe.usage_tap import DELTA_MARK
from cc_proxy.server.wire_registry import StreamAdapter, StreamBroken

log = logging.getLogger("cc_proxy")

PING = b'event: ping\ndata: {"type": "ping"}\n\n'
_MIN_TICK = 0.01  # seconds: never re-arm the watch closer than this


class StreamOutcome:
    __slots__ = ("delta_chunk", "error", "events_bytes")

    def __init__(self) -> None:
        self.error: str | None = None  # why the stream ended early, None when complete
        self.events_bytes = 0
        # The last chunk sent that holds a `message_delta` (its usage): decoded after the stream
        # (server/observe/usage_tap.py); a reference, not a copy.
        self.delta_chunk: bytes | None = None


def in_band_error(error_type: str, message: str) -> bytes:
    """The stream's last event when it cannot finish: clients raise it as an API error."""
    return encode(in_band_error_event(error_type, message))


class StreamFraming(Protocol):
    """What the relay adds to a stream itself, in the client's format (server/inbound.py for OpenAI's)."""

    @property
    def ping(self) -> bytes: ...
    def error(self, error_type: str, message: str) -> bytes: ...


class AnthropicFraming:
    ping = PING

    def error(self, error_type: str, message: str) -> bytes:
        return in_band_error(error_type, message)


ANTHROPIC_FRAMING = AnthropicFraming()


async def relay(
    sink: HTTPResponse,
    committed: Committed,
    settings: ServerSettings,
    abort: Callable[[], None],
    outcome: StreamOutcome | None = None,
    framing: StreamFraming = ANTHROPIC_FRAMING,
    *,
    cut: Callable[[], None] | None = None,
    transform: Callable[[bytes], Awaitable[bytes]] | None = None,
) -> StreamOutcome:
    """Send held bytes, then the rest, then end the response; returns how it ended (also filled in on
    `outcome` when given, so a caller that sees a cancellation can still log why). `abort` drops the
    client connection at once (the transport's `abort`); `cut` closes it after the bytes already sent
    (the transport's `close`; `abort` when not given). The upstream response is always closed."""
    adapter = committed.adapter
    chunks = committed.chunks
    assert adapter is not None and chunks is not None
    outcome = outcome if outcome is not None else StreamOutcome()
    pump = _Pump(sink, adapter, settings, outcome, abort, committed.scrub, framing.ping, transform)
    error_event = framing.error
    broken = False
    try:
        try:
            held = committed.held
            await pump.send(committed.scrub(held) if adapter.errored else held)
            await pump.run(chunks)
            tail = adapter.finish()
            if tail:
                await pump.send(tail)
            if not adapter.complete and not adapter.errored:
                outcome.error = "upstream stream ended before its final event: client connection cut"
                broken = True
            elif adapter.errored:  # an error event already reached the client: still log the stream as failed
                outcome.error = "stream ended with an error event"
        except TimeoutError:
            outcome.error = f"upstream stream silent for {settings.idle_timeout:g} s"
            await pump.send(error_event("timeout_error", outcome.error))
        except httpx.TransportError as exc:
            outcome.error = f"upstream connection lost mid-stream: {type(exc).__name__}: client connection cut"
            broken = True
        except StreamBroken as exc:  # the whole events before the bad one still go out, then the error
            outcome.error = str(exc)
            await pump.send(exc.good + error_event("api_error", outcome.error))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:  # unreadable event, or over the size cap
            outcome.error = f"upstream stream unreadable: {type(exc).__name__}"
            await pump.send(error_event("api_error", outcome.error))
        finally:
            await committed.response.aclose()
        if broken:  # no terminating chunk: the client sees the connection end mid-body (U12)
            (cut or abort)()
            return outcome
        await pump.send(None)  # end of the response, under the same send deadline
    finally:
        pump.stop()
    return outcome


class _Pump:
    """Moves chunks upstream -> adapter -> client; the watch (`_tick`) runs beside it on one timer."""

    __slots__ = (
        "_abort",
        "_adapter",
        "_deadline",
        "_idle",
        "_loop",
        "_outcome",
        "_ping",
        "_ping_bytes",
        "_ping_every",
        "_pinged_at",
        "_scrub",
        "_sending_since",
        "_sink",
        "_timer",
        "_transform",
        "_waiting_since",
    )

    def __init__(
        self,
        sink: HTTPResponse,
        adapter: StreamAdapter,
        settings: ServerSettings,
        outcome: StreamOutcome,
        abort: Callable[[], None],
        scrub: Callable[[bytes], bytes],
        ping: bytes = PING,
        transform: Callable[[bytes], Awaitable[bytes]] | None = None,
    ) -> None:
        self._sink = sink
        self._transform = transform  # whole events in, whole events out (a response hook)
        self._scrub = scrub
        self._ping_bytes = ping
        self._adapter = adapter
        self._outcome = outcome
        self._abort = abort
        self._idle = settings.idle_timeout
        self._ping_every = settings.ping_interval
        self._loop = asyncio.get_running_loop()
        self._waiting_since: float | None = None  # an upstream read is pending since (loop clock)
        self._sending_since: float | None = None  # a send to the client is pending since
        self._pinged_at = 0.0
        self._ping: asyncio.Task[None] | None = None
        self._deadline: asyncio.Timeout | None = None  # set while `run` reads: the watch fires it
        self._timer: asyncio.TimerHandle | None = self._loop.call_later(
            min(self._ping_every, self._idle), self._tick
        )

    async def run(self, chunks: AsyncIterator[bytes]) -> None:
        """Relay until the upstream ends; TimeoutError after idle_timeout of upstream silence."""
        clock = self._loop.time
        adapter = self._adapter
        feed = adapter.feed
        async with asyncio.timeout(None) as deadline:
            self._deadline = deadline
            try:
                while True:
                    self._waiting_since = clock()
                    try:
                        chunk = await anext(chunks)
                    except StopAsyncIteration:
                        return
                    self._waiting_since = None
                    out = feed(chunk)
                    if out:
                        if adapter.errored:  # an upstream error event may echo a key it was sent
                            out = self._scrub(out)
                        self._outcome.events_bytes += len(out)
                        await self.send(out)
            finally:
                self._waiting_since = None
                self._deadline = None

    async def send(self, data: bytes | None) -> None:
        """One send at a time: a ping in flight goes first. None ends the response."""
        ping = self._ping
        if ping is not None:
            self._ping = None
            await ping
        if data and self._transform is not None:
            data = await self._transform(data)
        if data is not None and DELTA_MARK in data:
            self._outcome.delta_chunk = data
        self._sending_since = self._loop.time()
        await self._sink.send(data)
        self._sending_since = None

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        ping = self._ping
        if ping is not None:
            self._ping = None
            if ping.done():
                if not ping.cancelled():
                    ping.exception()  # retrieved: the client is gone, nothing more to say
            else:
                ping.cancel()

    def _tick(self) -> None:
        now = self._loop.time()
        sending = self._sending_since
        if sending is not None:
            if now - sending >= self._idle:
                self._stalled()
                return
            self._arm(min(sending + self._idle, now + self._ping_every) - now)
            return
        waiting = self._waiting_since
        deadline = self._deadline
        if waiting is None or deadline is None:  # not reading (finishing): look again later
            self._arm(self._ping_every)
            return
        if now - waiting >= self._idle:
            deadline.reschedule(now)  # `run` raises TimeoutError; the caller sends the in-band error
            self._arm(self._ping_every)  # and that send is watched too
            return
        last = max(waiting, self._pinged_at)
        if now - last >= self._ping_every:
            # Between two sends the client has only whole events (adapters emit nothing else), so a
            # ping here never lands inside an event.
            self._pinged_at = last = now
            self._sending_since = now
            self._ping = self._loop.create_task(self._send_ping())
        self._arm(min(last + self._ping_every, waiting + self._idle) - now)

    def _arm(self, delay: float) -> None:
        self._timer = self._loop.call_later(max(delay, _MIN_TICK), self._tick)

    async def _send_ping(self) -> None:
        await self._sink.send(self._ping_bytes)
        self._sending_since = None

    def _stalled(self) -> None:
        """The client took nothing for idle_timeout: drop its connection. Sanic then cancels the
        handler task, whose `finally` closes the upstream response."""
        self._timer = None
        self._outcome.error = f"client stopped reading for {self._idle:g} s: connection aborted"
        log.debug("aborting a client connection that stopped reading")
        self._abort()
