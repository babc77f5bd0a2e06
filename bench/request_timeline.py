"""Where one request's time goes inside `cc-proxy serve`: a benchmark aid, not a test.

Runs the real server in-process (an Anthropic-format config) with timestamps around its steps (first
byte received, admission, parse, decide, build, upstream exchange, translation, answer written, access
log) and prints the median gap between consecutive steps at exit (Ctrl-C). Drive it with the harness's load generator:

    taskset -c 1 .venv/bin/python bench/request_timeline.py bench-results/cc-proxy-anthropic.json &
    taskset -c 0 /work/bench-venv/bin/python /work/shared/bench/loadgen.py run \\
        --url http://127.0.0.1:8100 --modes nonstream -c 1 -n 3000
    kill -INT %1

The wrappers cost ~1 us per step; the first 200 requests are left out (warm-up).
"""

from __future__ import annotations

import atexit
import collections
import inspect
import itertools
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cc_proxy.server.cli
import cc_proxy.server.exchange as exchange
import cc_proxy.server.handlers_messages as handlers
import cc_proxy.server.header_deadline as header_deadline
import cc_proxy.server.wire_registry as wire_registry
from cc_proxy.server.logging_setup import log_event

WARM_UP = 200
_marks: dict[str, int] = {}
_order: list[str] = []
_gaps: dict[str, list[int]] = collections.defaultdict(list)


def _mark(step: str) -> None:
    _marks[step] = time.perf_counter_ns()
    _order.append(step)


def _wrap(owner: Any, name: str, before: str | None, after: str | None) -> None:
    original: Callable[..., Any] = getattr(owner, name)
    if inspect.iscoroutinefunction(original):

        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            if before:
                _mark(before)
            try:
                return await original(*args, **kwargs)
            finally:
                if after:
                    _mark(after)

        setattr(owner, name, timed_async)
        return

    def timed(*args: Any, **kwargs: Any) -> Any:
        if before:
            _mark(before)
        try:
            return original(*args, **kwargs)
        finally:
            if after:
                _mark(after)

    setattr(owner, name, timed)


def _first_byte(original: Callable[..., Any]) -> Callable[..., Any]:
    def data_received(self: Any, data: bytes) -> Any:
        if not _order:
            _mark("first byte")
        return original(self, data)

    return data_received


def _logged(original: Callable[..., Any]) -> Callable[..., Any]:
    def log_event(*args: Any, **kwargs: Any) -> Any:
        _mark("log")
        result = original(*args, **kwargs)
        _mark("logged")
        if "first byte" in _marks and "answered" in _marks:
            for earlier, later in itertools.pairwise(_order):
                _gaps[f"{earlier} -> {later}"].append(_marks[later] - _marks[earlier])
            _gaps["TOTAL first byte -> answered"].append(_marks["answered"] - _marks["first byte"])
        _marks.clear()
        _order.clear()
        return result

    return log_event


def _report() -> None:
    for step, gaps in _gaps.items():
        kept = gaps[WARM_UP:]
        if kept:
            sys.stderr.write(f"{step:36s} p50 {statistics.median(kept) / 1000:8.1f} us  (n={len(kept)})\n")


def main() -> None:
    header_deadline.HeaderDeadlineProtocol.data_received = _first_byte(  # type: ignore[method-assign]
        header_deadline.HeaderDeadlineProtocol.data_received
    )
    _wrap(handlers, "admit", "handler", "admitted")
    _wrap(handlers, "parse_json_object", None, "parsed")
    _wrap(handlers, "decide", "decide", "decided")
    _wrap(wire_registry.AnthropicWire, "build_request", "build", "built")
    _wrap(exchange, "open_response", "upstream", "upstream headers")
    _wrap(wire_registry.AnthropicWire, "translate_response", "translate", "translated")
    _wrap(handlers, "answer", "answer", "answered")
    setattr(handlers, "log_event", _logged(log_event))  # noqa: B010 (the name handlers calls)
    atexit.register(_report)
    cc_proxy.server.cli.main(["serve", "--config", sys.argv[1], "--port", "8100", "--no-watch"])


if __name__ == "__main__":
    main()
