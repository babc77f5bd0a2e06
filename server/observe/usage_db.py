"""The usage history: one SQLite row per finished request (WAL mode, so readers never block the
writer and several workers can write one file).

Rows are written off the request path: the handler's sink appends the record to a bounded deque (O(1),
no lock, no await); one writer thread per worker drains it every FLUSH_EVERY seconds in a single
transaction. A full deque drops the record and counts it (`dropped`), it never blocks a request.
Nothing secret is stored: no body, no header value but the Claude Code session and agent ids.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cc_proxy.server.logging_setup import log_event
from cc_proxy.server.observe.record import RequestRecord

log = logging.getLogger("cc_proxy")

QUEUE_MAX = 10_000  # records waiting for the writer; ~10 s of a very busy proxy
FLUSH_EVERY = 0.25  # seconds between the writer's drains
PRUNE_EVERY = 3600.0  # seconds between retention passes
BUSY_TIMEOUT_MS = 5000  # another worker's write transaction: wait, do not fail

COLUMNS = (
    "ts", "request_id", "session_id", "agent_id", "client", "endpoint", "route", "rule", "provider", "model",
    "upstream_model", "client_model", "status", "error_type", "attempts", "fallback", "stream",
    "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens",
    "tokens_estimated", "cost_usd", "latency_ms", "ttft_ms", "upstream_ttfb_ms",
)  # fmt: skip
SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,            -- unix time the request arrived
    request_id TEXT NOT NULL,
    session_id TEXT,             -- x-claude-code-session-id
    agent_id TEXT,               -- x-claude-code-agent-id
    client TEXT NOT NULL,        -- user-agent product, e.g. claude-cli
    endpoint TEXT NOT NULL,      -- messages, count_tokens
    route TEXT NOT NULL,
    rule TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,         -- the model alias that answered
    upstream_model TEXT NOT NULL,
    client_model TEXT NOT NULL,  -- what the client asked for
    status INTEGER NOT NULL,
    error_type TEXT,
    attempts INTEGER NOT NULL,
    fallback TEXT,               -- the alias that answered instead of the decided one
    stream INTEGER NOT NULL,
    input_tokens INTEGER,        -- excludes cache reads and writes
    output_tokens INTEGER,
    cache_read_tokens INTEGER,
    cache_write_tokens INTEGER,
    reasoning_tokens INTEGER,
    tokens_estimated INTEGER NOT NULL,  -- 1: the upstream reported no usage, the proxy counted
    cost_usd REAL,               -- NULL: the model has no price
    latency_ms REAL NOT NULL,
    ttft_ms REAL,
    upstream_ttfb_ms REAL
);
CREATE INDEX IF NOT EXISTS requests_ts ON requests (ts);
CREATE INDEX IF NOT EXISTS requests_session ON requests (session_id, ts);
"""
INSERT = f"INSERT INTO requests ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


def connect(path: Path, *, create: bool = True) -> sqlite3.Connection:
    """A connection in WAL mode with the table in place (`create`), or a read-only one."""
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL: durable up to the last checkpoint, never corrupt
        conn.executescript(SCHEMA)
        return conn
    uri = f"file:{path}?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def row_of(r: RequestRecord) -> tuple[Any, ...]:
    u = r.usage
    tokens: tuple[int | None, ...] = (
        (u.input, u.output, u.cache_read, u.cache_write, u.reasoning) if u is not None else (None,) * 5
    )
    return (
        r.started_at, r.request_id, r.session_id, r.agent_id, r.client, r.endpoint, r.route, r.rule, r.provider,
        r.alias, r.upstream_model, r.client_model, r.status, r.error_type, r.attempts, r.fallback, int(r.stream),
        *tokens, int(u is not None and u.estimated), r.cost_usd, _ms(r.latency_s) or 0.0, _ms(r.first_event_s),
        _ms(r.upstream_ttfb_s),
    )  # fmt: skip


class UsageWriter:
    """The sink (`__call__`) and its writer thread. `start()` in the worker (threads do not survive a
    fork); `stop()` writes what is queued and closes the database."""

    def __init__(self, path: Path, retention_days: float, queue_max: int = QUEUE_MAX) -> None:
        self.path = path
        self.retention_days = retention_days
        self.dropped = 0
        self.written = 0
        self._queue_max = queue_max
        self._queue: collections.deque[RequestRecord] = collections.deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_prune = 0.0

    def __call__(self, record: RequestRecord) -> None:
        queue = self._queue
        if len(queue) >= self._queue_max:
            self.dropped += 1
            return
        queue.append(record)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="cc-proxy-usage", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        try:
            conn = connect(self.path)
        except (OSError, sqlite3.Error) as exc:
            log_event(log, logging.ERROR, "usage_db_unavailable", error=type(exc).__name__, detail=str(exc)[:200])
            self._queue_max = 0  # nothing can be written: drop (and count) from now on
            self._queue.clear()
            return
        with contextlib.closing(conn):
            while True:
                stopping = self._stop.wait(FLUSH_EVERY)
                self._flush(conn)
                if time.monotonic() - self._last_prune > PRUNE_EVERY:
                    self._prune(conn)
                if stopping:
                    return

    def _drain(self) -> Iterator[tuple[Any, ...]]:
        queue = self._queue
        while queue:
            yield row_of(queue.popleft())

    def _flush(self, conn: sqlite3.Connection) -> None:
        if not self._queue:
            return
        rows = list(self._drain())
        try:
            with conn:
                conn.execute("BEGIN")
                conn.executemany(INSERT, rows)
            self.written += len(rows)
        except sqlite3.Error as exc:
            self.dropped += len(rows)
            log_event(log, logging.WARNING, "usage_db_write_failed", error=type(exc).__name__, rows=len(rows))

    def _prune(self, conn: sqlite3.Connection) -> None:
        self._last_prune = time.monotonic()
        if self.retention_days <= 0:
            return
        try:
            conn.execute("DELETE FROM requests WHERE ts < ?", (time.time() - self.retention_days * 86400,))
        except sqlite3.Error as exc:
            log_event(log, logging.WARNING, "usage_db_prune_failed", error=type(exc).__name__)


def database_path(configured: str | None, config_file: str | None) -> Path:
    """server.usage.path (`~` expanded; relative to the config file's folder), else `usage.sqlite3` in
    the user's data directory (platformdirs: $XDG_DATA_HOME/cc-proxy on Linux)."""
    if configured:
        path = Path(configured).expanduser()
        if not path.is_absolute() and config_file:
            path = Path(config_file).parent / path
        return path
    import platformdirs

    return platformdirs.user_data_path("cc-proxy", appauthor=False) / "usage.sqlite3"
