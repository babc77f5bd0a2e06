"""A cap on open connections per peer address (reliability C8: one host cannot hold every slot).

The count lives in a dict on the protocol class, shared by every connection of the worker (each forked
worker has its own): +1 in connection_made, -1 in connection_lost, an entry deleted at 0, so the dict
only ever holds addresses that have a connection open. A connection over the cap is aborted in
connection_made, before Sanic sets anything up or a byte is read, and costs two dict look-ups.

Refusals are logged as `connection_refused`, at most once per address per second: the set of addresses
already logged is emptied every second, so a flood neither floods the log nor grows memory.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from cc_proxy.server.header_deadline import DEFAULT_BODY_TIMEOUT, HeaderDeadlineProtocol, with_header_timeout
from cc_proxy.server.logging_setup import log_event

DEFAULT_MAX_CONNECTIONS_PER_IP = 256  # a team behind one NAT address, each CLI with subagents
LOG_EVERY = 1.0  # seconds between two `connection_refused` lines for one address

log = logging.getLogger("cc_proxy")


class ConnectionCapProtocol(HeaderDeadlineProtocol):
    __slots__ = ("_peer",)

    max_per_ip: ClassVar[int] = DEFAULT_MAX_CONNECTIONS_PER_IP  # set per server by `server_protocol`
    open_per_ip: ClassVar[dict[str, int]]  # peer address -> open connections; one dict per server class
    _logged: ClassVar[set[str]]  # addresses whose refusal was logged in the current window
    _log_window: ClassVar[list[float]]  # [start of the current window], mutable in place

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._peer: str | None = None  # set once counted; None = refused (nothing to undo)

    def connection_made(self, transport: Any) -> None:
        peername = transport.get_extra_info("peername")
        peer = str(peername[0]) if isinstance(peername, tuple) and peername else str(peername or "")
        counts = self.open_per_ip
        open_now = counts.get(peer, 0)
        if open_now >= self.max_per_ip:
            transport.abort()  # nothing read, nothing set up: connection_lost below skips Sanic's cleanup
            self._refused(peer, open_now)
            return
        counts[peer] = open_now + 1
        self._peer = peer
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        peer = self._peer
        if peer is None:
            return  # refused in connection_made: Sanic never saw it
        self._peer = None
        counts = self.open_per_ip
        left = counts[peer] - 1
        if left:
            counts[peer] = left
        else:
            del counts[peer]  # no entry at 0: the dict holds only addresses with open connections
        super().connection_lost(exc)

    def _refused(self, peer: str, open_now: int) -> None:
        now = self.loop.time()
        window = self._log_window
        if now - window[0] >= LOG_EVERY:
            window[0] = now
            self._logged.clear()
        if peer not in self._logged:
            self._logged.add(peer)
            log_event(log, logging.WARNING, "connection_refused", peer=peer, open=open_now, limit=self.max_per_ip)


def server_protocol(
    header_timeout: float, max_connections_per_ip: int, body_timeout: float = DEFAULT_BODY_TIMEOUT
) -> type[HeaderDeadlineProtocol]:
    """The protocol class for one server: heads due within `header_timeout` seconds, bodies within
    `body_timeout` after their head (0: no body deadline), at most `max_connections_per_ip` open
    connections per peer address (0: no cap, and no counting at all)."""
    if max_connections_per_ip <= 0:
        return with_header_timeout(header_timeout, body_timeout)
    seconds, body_seconds, cap = header_timeout, body_timeout, max_connections_per_ip  # a class body cannot
    # see a same-named outer name

    class Protocol(ConnectionCapProtocol):
        __slots__ = ()
        header_timeout = seconds
        body_timeout = body_seconds
        max_per_ip = cap
        open_per_ip = {}
        _logged = set()
        _log_window = [float("-inf")]

    return Protocol
