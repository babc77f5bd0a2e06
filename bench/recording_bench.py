"""Micro-benchmark (not a test): what recording adds to one request on the handler's task, with
recording on (Prometheus metrics + usage-history sink + usage read from the answer) and off (the
record and log fields only), in the same run, alternating so both see the same machine.

    .venv/bin/python bench/recording_bench.py [--requests 20000] [--rounds 7]

Prints CPU microseconds per request (median of the rounds) for a JSON answer and a stream.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cc_proxy.engine.decide import Decision  # noqa: E402
from cc_proxy.engine.profiles import BUILTIN_PROFILES  # noqa: E402
from cc_proxy.engine.snapshot import ApiKey, ResolvedModel, ResolvedProvider  # noqa: E402
from cc_proxy.engine.wire.sse import SSEEvent, encode  # noqa: E402
from cc_proxy.server.observe.metrics import Metrics  # noqa: E402
from cc_proxy.server.observe.record import PriceBook, RequestRecord, describe, log_fields  # noqa: E402
from cc_proxy.server.observe.recorder import Recorder  # noqa: E402
from cc_proxy.server.observe.usage_db import UsageWriter  # noqa: E402
from cc_proxy.server.observe.usage_tap import message_usage, stream_usage  # noqa: E402

USAGE = {"input_tokens": 1200, "cache_creation_input_tokens": 300, "cache_read_input_tokens": 5000, "output_tokens": 80}
MESSAGE = orjson.dumps({
    "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "word " * 400}], "stop_reason": "end_turn", "stop_sequence": None,
    "usage": USAGE,
})  # fmt: skip
START = encode(SSEEvent(orjson.dumps({"type": "message_start", "message": {
    "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5", "content": [],
    "stop_reason": None, "stop_sequence": None, "usage": {**USAGE, "output_tokens": 1}}}).decode(), "message_start"))
DELTA = encode(SSEEvent('{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},'
                        '"usage":{"output_tokens":80}}', "message_delta"))
DELTA += b'event: message_stop\ndata: {"type":"message_stop"}\n\n'


def decision() -> Decision:
    profile = BUILTIN_PROFILES["anthropic"]
    provider = ResolvedProvider("anthropic", "anthropic", "https://x", ApiKey("literal", "k"), {}, profile)
    target = ResolvedModel("sonnet", provider, "claude-sonnet-4-5")
    return Decision(route="default", rule_id="r1", target=target, fallbacks=(), request={},
                    requested_model="claude-sonnet-4-5", trace=(), features=None)  # type: ignore[arg-type]  # fmt: skip


def one(recorder: Recorder, prices: PriceBook, d: Decision, on: bool, stream: bool) -> None:
    """What the handler does for recording after the answer went out (handlers_messages._finish)."""
    recorder.started()
    record = RequestRecord("req_x", "messages", time.time())
    if on:  # the usage read is part of recording
        record.usage, record.stop_reason = stream_usage(START, DELTA) if stream else message_usage(MESSAGE)
    fields: dict[str, Any] = {"request_id": "req_x", "status": 200}
    record.status = 200
    record.latency_s = 0.0123
    record.first_event_s = 0.01
    record.upstream_ttfb_s = 0.009
    describe(record, d)
    record.cost_usd = prices.cost(d, record.usage)
    record.attempts = 1
    record.tried = (("anthropic", "sonnet", "success"),)
    log_fields(record, fields)
    recorder.finish(record)


def run_round(requests: int, on: bool, stream: bool, d: Decision, metrics: Metrics, writer: UsageWriter) -> float:
    recorder = Recorder()
    if on:
        recorder.add(metrics, metrics.started if metrics.counts_in_flight else None)
        recorder.add(writer)
    prices = PriceBook()
    start = time.process_time()  # CPU time: on a shared machine, waiting for a core is not counted
    for _ in range(requests):
        one(recorder, prices, d, on, stream)
    elapsed = time.process_time() - start
    writer._queue.clear()  # the writer thread's job, not the request's
    return elapsed / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    d = decision()
    metrics = Metrics(lambda: (0, 0, {}, 0))
    writer = UsageWriter(Path("/nonexistent/usage.sqlite3"), 0, queue_max=args.requests + 1)
    for stream in (False, True):
        results: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.rounds):
            for on in (False, True):
                results[on].append(run_round(args.requests, on, stream, d, metrics, writer))
        off, on_ = statistics.median(results[False]), statistics.median(results[True])
        kind = "stream" if stream else "json"
        print(f"{kind:6} recording off {off:6.2f} us/request  on {on_:6.2f} us/request  added {on_ - off:5.2f} us")


if __name__ == "__main__":
    main()
