"""Total deadlines for receiving a request: its head (reliability C8, slowloris) and its body.

Sanic's REQUEST_TIMEOUT restarts with every byte received, so a client trickling its headers one byte
a second holds a connection forever; a body is read under the response timeout (minutes), reset by
every byte too. This protocol adds one timer per request head: a new connection must deliver its first
head within `header_timeout` seconds, and a later head on a kept-alive connection within
`header_timeout` of its first byte (an idle kept-alive connection is left to Sanic's
KEEP_ALIVE_TIMEOUT). Once the head is in, a body still to come must be complete within `body_timeout`
seconds (0: no body deadline).

Past a deadline, a partly received request gets what Sanic's own request timeout gives it: the
connection task is cancelled with `RequestTimeout` set, so Sanic answers 408 (an Anthropic error body
from the app's error handler) and closes the connection, without the "connection_task uncaught"
traceback a bare close mid-head causes. A connection that sent nothing is simply closed. Each is logged
(`header_deadline`, `body_deadline`).

It is a subclass of Sanic's HttpProtocol passed as `protocol=` to `app.run`/`app.prepare`, which is
Sanic's supported way to customise the protocol; it reads the `http` property's `stage`, `request` and
`request_body`, the connection `state` Sanic keeps (`requests_count`, incremented once a head is
parsed), and wraps `request_handler`, which Sanic calls once a head is parsed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sanic.exceptions import RequestTimeout
from sanic.http.constants import Stage
from sanic.server.protocols.http_protocol import HttpProtocol

from cc_proxy.server.logging_setup import log_event

DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 15.0

log = logging.getLogger("cc_proxy")


class HeaderDeadlineProtocol(HttpProtocol):
    __slots__ = ("_handle", "_head_count", "_head_timer")

    header_timeout = DEFAULT_HEADER_TIMEOUT  # set per server by `with_header_timeout`
    body_timeout = DEFAULT_BODY_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_count = 0
        self._handle: Callable[[Any], Awaitable[Any]] = self.request_handler
        self.request_handler = self._with_body_deadline

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[no-untyped-call]
        self._arm()  # the first head is due from the moment the connection opens

    def data_received(self, data: bytes) -> None:
        timer = self._head_timer
        if timer is None or self.state["requests_count"] != self._head_count:
            http = self.http
            if http is not None and http.stage in (Stage.IDLE, Stage.REQUEST):  # the first byte of a new head
                if timer is not None:
                    timer.cancel()  # the previous head's deadline: that head is complete
                self._arm()
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)  # type: ignore[no-untyped-call]

    def _arm(self) -> None:
        self._head_count = self.state["requests_count"]
        self._head_timer = self.loop.call_later(self.header_timeout, self._expired)

    def _expired(self) -> None:
        self._head_timer = None
        transport = self.transport
        if transport is None or transport.is_closing() or self.state["requests_count"] != self._head_count:
            return  # closed meanwhile, or that head completed
        http = self.http
        if http is not None and http.stage is Stage.REQUEST and self._timed_out(
            f"request head not received within {self.header_timeout:g} s"
        ):
            log_event(log, logging.WARNING, "header_deadline", seconds=self.header_timeout)
            return
        self.close()  # nothing of a head arrived: nobody to answer

    async def _with_body_deadline(self, request: Any) -> Any:
        http = self.http
        timer = None
        if self.body_timeout > 0 and http is not None and http.request_body:
            timer = self.loop.call_later(self.body_timeout, self._body_expired, request)
        try:
            return await self._handle(request)
        finally:
            if timer is not None:
                timer.cancel()

    def _body_expired(self, request: Any) -> None:
        http = self.http
        if http is None or http.request is not request or not http.request_body:
            return  # the body is complete: the handler has it
        received = http.request_bytes
        http.request_body = None  # so Sanic does not wait for the rest of it after answering
        if self._timed_out(f"request body not received within {self.body_timeout:g} s"):
            log_event(log, logging.WARNING, "body_deadline", seconds=self.body_timeout, received=received)

    def _timed_out(self, message: str) -> bool:
        """Sanic's own request-timeout path: the connection task ends with a 408 and closes."""
        http, task = self.http, self._task
        if http is None or task is None or task.done():
            return False
        http.exception = RequestTimeout(message)
        http.keep_alive = False
        task.cancel()
        return True


def with_header_timeout(seconds: float, body_seconds: float = DEFAULT_BODY_TIMEOUT) -> type[HeaderDeadlineProtocol]:
    """The protocol class for a server whose heads must arrive within `seconds` and bodies within
    `body_seconds` after their head (0: no body deadline)."""

    class Protocol(HeaderDeadlineProtocol):
        __slots__ = ()
        header_timeout = seconds
        body_timeout = body_seconds

    return Protocol
