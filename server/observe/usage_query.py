"""`cc-proxy usage` and its server endpoint: the usage history summed by model, route, provider,
session or day, as one JSON shape and as an aligned table (totals last)."""

from __future__ import annotations

import re
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cc_proxy.server.observe.usage_db import connect

GROUPS: dict[str, str] = {
    "model": "upstream_model",
    "route": "route",
    "provider": "provider",
    "session": "COALESCE(session_id, '-')",
    "day": "strftime('%Y-%m-%d', ts, 'unixepoch')",
}
FIELDS = (
    "requests", "errors", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
    "reasoning_tokens", "cost_usd",
)  # fmt: skip
_SUMS = (
    "COUNT(*)",
    "SUM(status >= 400 OR error_type IS NOT NULL)",
    "TOTAL(input_tokens)",
    "TOTAL(output_tokens)",
    "TOTAL(cache_read_tokens)",
    "TOTAL(cache_write_tokens)",
    "TOTAL(reasoning_tokens)",
    "SUM(cost_usd)",  # NULL when no request of the group was priced: unknown, not 0
)
_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class UsageQueryError(ValueError):
    """A bad --since or --by: the message says what is accepted."""


def parse_since(text: str, now: float | None = None) -> float:
    """ "24h", "30m", "7d", "2w", "90s" back from now, or an ISO date/time ("2026-12-01", UTC when no
    offset is given) -> a unix time."""
    now = time.time() if now is None else now
    m = _SINCE.match(text)
    if m is not None:
        return now - float(m.group(1)) * _UNIT[m.group(2)]
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageQueryError(
            f'--since {text[:40]!r}: expected a duration such as "24h", "7d", "30m" or an ISO date'
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _entry(key: str | None, values: tuple[Any, ...]) -> dict[str, Any]:
    entry: dict[str, Any] = {"key": key}
    for name, value in zip(FIELDS, values, strict=True):
        entry[name] = (None if value is None else round(float(value), 9)) if name == "cost_usd" else int(value or 0)
    return entry


def summary(path: Path, since: float, by: str) -> dict[str, Any]:
    """{"since", "by", "rows": [{key, requests, errors, *_tokens, cost_usd}], "total": {same, key null}};
    rows by cost then requests, days in date order. A database not created yet is an empty history."""
    if by not in GROUPS:
        raise UsageQueryError(f"--by {by[:40]!r}: expected one of {', '.join(GROUPS)}")
    rows: list[dict[str, Any]] = []
    total = _entry(None, (0,) * len(FIELDS))
    total["cost_usd"] = None
    if path.exists():
        conn = connect(path, create=False)
        try:
            sums = ", ".join(_SUMS)
            query = f"SELECT {GROUPS[by]} AS key, {sums} FROM requests WHERE ts >= ? GROUP BY key"
            rows = [_entry(str(r[0]), r[1:]) for r in conn.execute(query, (since,))]
            total = _entry(None, conn.execute(f"SELECT {sums} FROM requests WHERE ts >= ?", (since,)).fetchone())
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
        finally:
            conn.close()
    if by == "day":
        rows.sort(key=lambda r: r["key"])
    else:
        rows.sort(key=lambda r: (-(r["cost_usd"] or 0.0), -r["requests"], r["key"]))
    return {"since": iso(since), "by": by, "rows": rows, "total": total}


HEADERS = ("requests", "errors", "input", "output", "cache read", "cache write", "reasoning", "cost USD")


def _cost(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def table(report: dict[str, Any]) -> str:
    """The report as aligned text: the key column left, numbers right, the total last."""
    lines: list[list[str]] = [[report["by"], *HEADERS]]
    for entry in [*report["rows"], {**report["total"], "key": "total"}]:
        numbers = [f"{entry[name]:,}" for name in FIELDS[:-1]]
        lines.append([str(entry["key"]), *numbers, _cost(entry["cost_usd"])])
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = []
    for n, line in enumerate(lines):
        if n == len(lines) - 1:
            out.append("-" * (sum(widths) + 2 * (len(widths) - 1)))
        cells = [line[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(line[1:], widths[1:], strict=True)
        ]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out) + f"\nsince {report['since']}\n"


def session_summary(path: Path, session_id: str) -> dict[str, Any]:
    """One Claude Code session: its request count, tokens and cost so far, and its last request."""
    out: dict[str, Any] = {"session_id": session_id, "requests": 0, "cost_usd": None, "last": None}
    if not path.exists():
        return out
    conn = connect(path, create=False)
    try:
        count, cost, tokens_in, tokens_out = conn.execute(
            "SELECT COUNT(*), SUM(cost_usd), TOTAL(input_tokens + cache_read_tokens + cache_write_tokens),"
            " TOTAL(output_tokens) FROM requests WHERE session_id = ?",
            (session_id,),
        ).fetchone()
        row = conn.execute(
            "SELECT ts, route, provider, model, upstream_model, status, error_type, fallback, input_tokens,"
            " output_tokens, cache_read_tokens, cache_write_tokens, cost_usd FROM requests"
            " WHERE session_id = ? AND endpoint = 'messages' ORDER BY ts DESC LIMIT 1",
            (session_id,),
        ).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        return out
    finally:
        conn.close()
    out.update(requests=count, cost_usd=cost, input_tokens=int(tokens_in), output_tokens=int(tokens_out))
    if row is not None:
        names = ("ts", "route", "provider", "model", "upstream_model", "status", "error_type", "fallback",
                 "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd")  # fmt: skip
        out["last"] = dict(zip(names, row, strict=True))
    return out
