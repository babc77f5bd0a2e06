"""`GET /cc-proxy/live`: what the dashboard draws, as one JSON document.

History comes from the usage database (every worker writes it, so the figures are the whole
server's): per-bucket request and error counts, latency percentiles, tokens and cost per model and
route, and the last requests. Circuits and the reload result are the answering worker's own state.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from cc_proxy.server.observe.usage_db import connect

WINDOW_S = 900  # the last 15 minutes
BUCKET_S = 15
RECENT = 25
MAX_ROWS = 50_000  # rows read for one answer; a busier window is sampled from its newest rows


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def history(path: Path, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    since = now - WINDOW_S
    first = int(since // BUCKET_S) * BUCKET_S
    buckets: dict[int, dict[str, Any]] = {
        t: {"t": t, "requests": 0, "errors": 0, "latencies": [], "tokens": 0, "cost_usd": 0.0}
        for t in range(first, int(now) + 1, BUCKET_S)
    }
    per: dict[str, dict[str, dict[str, Any]]] = {"model": {}, "route": {}}
    index = {t: i for i, t in enumerate(buckets)}
    over_time: dict[str, dict[str, dict[str, list[float]]]] = {"model": {}, "route": {}}
    recent: list[dict[str, Any]] = []
    rows: list[Any] = []
    if path.exists():
        conn = connect(path, create=False)
        conn.row_factory = sqlite3.Row
        try:
            rows = conn.execute(
                "SELECT * FROM requests WHERE ts >= ? ORDER BY ts DESC LIMIT ?", (since, MAX_ROWS)
            ).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
        finally:
            conn.close()
    for n, row in enumerate(rows):
        tokens = sum(row[k] or 0 for k in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"))
        failed = row["status"] >= 400 or row["error_type"] is not None
        bucket = buckets.get(int(row["ts"] // BUCKET_S) * BUCKET_S)
        if bucket is not None:
            bucket["requests"] += 1
            bucket["errors"] += failed
            bucket["latencies"].append(row["latency_ms"])
            bucket["tokens"] += tokens
            bucket["cost_usd"] += row["cost_usd"] or 0.0
        slot = index.get(int(row["ts"] // BUCKET_S) * BUCKET_S)
        for group, key in (("model", row["upstream_model"] or "-"), ("route", row["route"] or "-")):
            entry = per[group].setdefault(key, {"key": key, "requests": 0, "tokens": 0, "cost_usd": 0.0})
            entry["requests"] += 1
            entry["tokens"] += tokens
            entry["cost_usd"] += row["cost_usd"] or 0.0
            if slot is not None:
                line = over_time[group].setdefault(key, {"tokens": [0] * len(index), "cost_usd": [0.0] * len(index)})
                line["tokens"][slot] += tokens
                line["cost_usd"][slot] += row["cost_usd"] or 0.0
        if n < RECENT:
            recent.append({
                "ts": row["ts"], "route": row["route"], "rule": row["rule"], "provider": row["provider"],
                "model": row["model"], "upstream_model": row["upstream_model"], "status": row["status"],
                "error_type": row["error_type"], "fallback": row["fallback"], "stream": bool(row["stream"]),
                "latency_ms": row["latency_ms"], "ttft_ms": row["ttft_ms"], "input_tokens": row["input_tokens"],
                "output_tokens": row["output_tokens"], "cost_usd": row["cost_usd"],
            })  # fmt: skip
    series = []
    for bucket in buckets.values():
        latencies = bucket.pop("latencies")
        bucket["rate"] = round(bucket["requests"] / BUCKET_S, 3)
        bucket["p50_ms"] = _percentile(latencies, 0.5)
        bucket["p95_ms"] = _percentile(latencies, 0.95)
        bucket["p99_ms"] = _percentile(latencies, 0.99)
        bucket["cost_usd"] = round(bucket["cost_usd"], 9)
        series.append(bucket)
    ranked = {
        group: sorted(entries.values(), key=lambda e: (-e["requests"], e["key"])) for group, entries in per.items()
    }
    return {
        "now": now,
        "window_s": WINDOW_S,
        "bucket_s": BUCKET_S,
        "series": series,
        "by_model": ranked["model"],
        "by_route": ranked["route"],
        "model_series": over_time["model"],  # key -> {"tokens": [per bucket], "cost_usd": [per bucket]}
        "route_series": over_time["route"],
        "recent": recent,
        "requests": len(rows),
        "latency": {f"p{int(q * 100)}_ms": _percentile([r["latency_ms"] for r in rows], q) for q in (0.5, 0.95, 0.99)},
    }
