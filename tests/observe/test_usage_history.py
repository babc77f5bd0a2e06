"""The usage history: every finished request is a row; `cc-proxy usage` (table and --json) and the
server's /cc-proxy/usage show the same sums as /metrics, from the same real traffic."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from cc_proxy.server.observe.usage_query import FIELDS, parse_since
from tests.conftest import REPO_ROOT, child_env
from tests.observe.conftest import SESSION, scrape, total
from tests.observe.test_metrics import traffic
from tests.server.conftest import CANARIES, CLIENT_KEY, Stack

ENTRY_KEYS = ["key", *FIELDS]


def database(stack: Stack) -> Path:
    return stack.config_path.parent / "usage.sqlite3"


def rows(stack: Stack) -> list[dict[str, Any]]:
    path = database(stack)
    if not path.exists():
        return []
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute("SELECT * FROM requests ORDER BY id")]
        except sqlite3.OperationalError:  # the writer thread is still creating the table
            return []


def wait_rows(stack: Stack, count: int) -> list[dict[str, Any]]:
    """The rows once `count` are there (the writer thread flushes a few times a second)."""
    deadline = time.monotonic() + 10
    found = rows(stack)
    while len(found) < count and time.monotonic() < deadline:
        time.sleep(0.05)
        found = rows(stack)
    assert len(found) >= count, f"{len(found)} of {count} rows written"
    return found


def usage_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cc_proxy.server.cli", "usage", *args],
        cwd=REPO_ROOT, env=child_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_each_request_is_one_row_with_its_facts(observed: Stack) -> None:
    before = len(rows(observed))
    traffic(observed)
    new = wait_rows(observed, before + 8)[before:]
    assert len(new) == 8
    fallback = next(r for r in new if r["fallback"])
    assert (fallback["fallback"], fallback["provider"], fallback["route"], fallback["attempts"]) == (
        "backup", "compat", "withFallback", 4,
    )  # fmt: skip
    stream = next(r for r in new if r["stream"] and r["provider"] == "anthropic")
    assert (stream["input_tokens"], stream["output_tokens"], stream["cache_read_tokens"]) == (1200, 80, 5000)
    assert stream["upstream_model"] == "claude-sonnet-4-5" and stream["client_model"] == "claude-sonnet-4-5"
    assert (stream["session_id"], stream["agent_id"], stream["client"]) == (SESSION, "agent-7", "python-httpx")
    assert stream["ttft_ms"] > 0 and stream["latency_ms"] >= stream["ttft_ms"]
    error = next(r for r in new if r["status"] == 400)
    assert error["error_type"] == "invalid_request_error" and error["input_tokens"] is None
    unpriced = next(r for r in new if r["provider"] == "forward")
    assert unpriced["cost_usd"] is None and unpriced["input_tokens"] == 1200
    dump = json.dumps(new)
    for secret in (*CANARIES, CLIENT_KEY):
        assert secret not in dump
    assert "hi" not in {str(v) for r in new for v in r.values()}  # no message text


def test_cli_and_server_report_what_metrics_count(observed: Stack) -> None:
    traffic(observed)
    samples = scrape(observed)
    wait_rows(observed, int(total(samples, "cc_proxy_requests_total")))
    out = usage_cli("--db", str(database(observed)), "--by", "provider", "--json", "--since", "1h")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert list(report) == ["since", "by", "rows", "total"] and report["by"] == "provider"
    assert all(list(row) == ENTRY_KEYS for row in [*report["rows"], report["total"]])
    by_provider = {row["key"]: row for row in report["rows"]}
    metric_input = total(samples, "cc_proxy_tokens_total", provider="anthropic", type="input")
    assert by_provider["anthropic"]["input_tokens"] == metric_input
    assert report["total"]["requests"] == total(samples, "cc_proxy_requests_total")
    assert report["total"]["input_tokens"] == total(samples, "cc_proxy_tokens_total", type="input")
    assert report["total"]["cost_usd"] == pytest.approx(total(samples, "cc_proxy_cost_usd_total"))
    assert by_provider["forward"]["cost_usd"] is None  # nothing priced in that group: unknown
    served = httpx.get(observed.url + "/cc-proxy/usage", params={"by": "provider", "since": "1h"}).json()
    assert served["rows"] == report["rows"] and served["total"] == report["total"]


def test_the_table_is_aligned_with_totals_last(observed: Stack) -> None:
    traffic(observed)
    wait_rows(observed, 8)
    out = usage_cli("--config", str(observed.config_path), "--by", "route")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:3] == ["route", "requests", "errors"]
    assert lines[-2].startswith("total") and set(lines[-3]) == {"-"} and lines[-1].startswith("since ")
    widths = {len(line) for line in [*lines[:-3], lines[-2]]}
    assert len(widths) == 1, "columns are not aligned"
    assert any(line.startswith("withFallback ") for line in lines)


def test_bad_arguments_are_clear_errors(tmp_path: Path) -> None:
    out = usage_cli("--db", str(tmp_path / "none.sqlite3"), "--since", "yesterday")
    assert out.returncode == 1 and "--since 'yesterday'" in out.stderr and "Traceback" not in out.stderr
    empty = usage_cli("--db", str(tmp_path / "none.sqlite3"), "--json")
    assert empty.returncode == 0 and json.loads(empty.stdout)["total"]["requests"] == 0


def test_since_accepts_durations_and_dates() -> None:
    assert parse_since("24h", now=100_000.0) == 100_000.0 - 86_400
    assert parse_since("30m", now=10_000.0) == 10_000.0 - 1800
    assert parse_since("2026-12-01") == parse_since("2026-12-01T00:00:00Z")
