"""A total deadline for receiving a request head (reliability C8, slowloris).

Sanic's REQUEST_TIMEOUT restarts with every byte received, so a client trickling its headers one byte
a second holds a connection forever. This protocol adds one timer per request head: a new connection
must deliver its first head within `header_timeout` seconds, and a later head on a kept-alive
connection within `header_timeout` of its first byte (an idle kept-alive connection is left to Sanic's
KEEP_ALIVE_TIMEOUT). Past the deadline the connection is closed.

It is a subclass of Sanic's HttpProtocol passed as `protocol=` to `app.run`/`app.prepare`, which is
Sanic's supported way to customise the protocol; it reads only the `http` property's `stage` and the
connection `state` Sanic keeps (`requests_count`, which Sanic increments once a head is parsed).
"""

from __future__ import annotations

import asyncio
from typing import Any

from sanic.http.constants import Stage
from sanic.server.protocols.http_protocol import HttpProtocol

DEFAULT_HEADER_TIMEOUT = 10.0


class HeaderDeadlineProtocol(HttpProtocol):
    __slots__ = ("_head_count", "_head_timer")

    header_timeout = DEFAULT_HEADER_TIMEOUT  # set per server by `with_header_timeout`

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_count = 0

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
        if transport is not None and not transport.is_closing() and self.state["requests_count"] == self._head_count:
            self.close()  # that head never completed


def with_header_timeout(seconds: float) -> type[HeaderDeadlineProtocol]:
    """The protocol class for a server whose heads must arrive within `seconds`."""

    class Protocol(HeaderDeadlineProtocol):
        __slots__ = ()
        header_timeout = seconds

    return Protocol
