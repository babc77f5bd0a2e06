"""Micro-benchmark (not a test, not the shared harness): one proxy process with recording on, one
with it off (--no-metrics --no-usage), alternating, against an in-process fake upstream; sequential
requests over keep-alive. Prints the median client-side latency and the proxy's own CPU time per
request (from /proc), for a JSON answer and a stream.

    .venv/bin/python bench/recording_e2e.py [--requests 400] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import RunningProcess  # noqa: E402
from tests.fakes import anthropic_stream as A  # noqa: E402
from tests.fakes.server import FakeUpstream  # noqa: E402
from tests.server.conftest import start_proxy  # noqa: E402

USAGE = {"input_tokens": 1200, "cache_creation_input_tokens": 300, "cache_read_input_tokens": 5000, "output_tokens": 80}
ASK = {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(proxy: RunningProcess, body: dict[str, object], n: int) -> tuple[float, float]:
    with httpx.Client(base_url=proxy.url, headers={"x-api-key": "k"}) as client:
        for _ in range(20):  # warm
            client.post("/v1/messages", json=body)
        cpu0 = cpu_seconds(proxy.proc.pid)
        latencies = []
        for _ in range(n):
            start = time.perf_counter()
            client.post("/v1/messages", json=body).raise_for_status()
            latencies.append(time.perf_counter() - start)
        cpu = cpu_seconds(proxy.proc.pid) - cpu0
    return statistics.median(latencies) * 1e3, cpu / n * 1e3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with FakeUpstream() as fake, tempfile.TemporaryDirectory() as tmp:
        fake.always("/v1/messages", A.auto(A.message(A.text("ok"), usage=USAGE)))
        config = {"providers": {"p": {"format": "anthropic", "base_url": fake.url, "api_key": "k"}},
                  "models": {"m": {"provider": "p"}}, "routes": {"default": "m"}, "rules": [],
                  "server": {"usage": {"path": "usage.sqlite3"}}}  # fmt: skip
        procs = {}
        for name, extra in (("on", ()), ("off", ("--no-metrics", "--no-usage"))):
            base = Path(tmp) / name
            base.mkdir()
            (base / "cc-proxy.json").write_text(json.dumps(config))
            procs[name] = start_proxy(base / "cc-proxy.json", args=("--log-level", "warning", "--no-watch", *extra))
        try:
            for label, body in (("json", ASK), ("stream", {**ASK, "stream": True})):
                results: dict[str, list[tuple[float, float]]] = {"on": [], "off": []}
                for _ in range(args.rounds):
                    for name in ("off", "on"):
                        results[name].append(measure(procs[name], body, args.requests))
                line = []
                for name in ("off", "on"):
                    p50 = statistics.median(r[0] for r in results[name])
                    cpu = statistics.median(r[1] for r in results[name])
                    line.append(f"{name}: p50 {p50:.3f} ms, proxy CPU {cpu:.3f} ms/request")
                print(f"{label:6} " + " | ".join(line))
        finally:
            for proc in procs.values():
                proc.stop()


if __name__ == "__main__":
    main()
