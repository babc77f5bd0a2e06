"""Where finished requests go: each sink (metrics, usage history) gets the record in turn.

A sink does O(1) work on the request's task (a counter, a queue put) and never awaits or blocks; one
that raises is a bug in it, not the request's: the record still reaches the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from cc_proxy.server.logging_setup import log_event
from cc_proxy.server.observe.record import RequestRecord

log = logging.getLogger("cc_proxy")

Sink = Callable[[RequestRecord], None]


class Recorder:
    """`started()` when an API request comes in (live gauges), `finish(record)` when it is done."""

    __slots__ = ("_failed", "_sinks", "_starts")

    def __init__(self, sinks: tuple[Sink, ...] = ()) -> None:
        self._sinks = sinks
        self._starts: tuple[Callable[[], None], ...] = ()
        self._failed: set[str] = set()  # sinks already reported broken: one log line each

    def add(self, sink: Sink, on_start: Callable[[], None] | None = None) -> None:
        self._sinks = (*self._sinks, sink)
        if on_start is not None:
            self._starts = (*self._starts, on_start)

    def started(self) -> None:
        for start in self._starts:
            start()

    def finish(self, record: RequestRecord) -> None:
        for sink in self._sinks:
            try:
                sink(record)
            except Exception as exc:
                name = getattr(sink, "__qualname__", type(sink).__name__)
                if name not in self._failed:
                    self._failed.add(name)
                    log_event(log, logging.ERROR, "recorder_sink_failed", sink=name, exception=type(exc).__name__)
