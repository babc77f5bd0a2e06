"""One JSON line per event on stderr: control characters escaped by the encoder, long fields cut.

Only an allow-list of fields is ever logged (no headers, no bodies), so keys cannot end up here.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from typing import Any, TextIO

import orjson

MAX_FIELD = 300


def _cut(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_FIELD:
        return value[:MAX_FIELD] + "..."
    return value


_stamp: tuple[int, str] = (-1, "")  # the last whole second formatted, with its text: lines mostly share one


def format_line(created: float, level: int, event: str, fields: dict[str, Any] | None, exception: str | None) -> str:
    """One log line: `created` is a time.time() stamp, shown in UTC to the millisecond."""
    global _stamp
    whole = int(created)
    stamp = _stamp  # one read: the watcher thread logs too
    if stamp[0] != whole:
        stamp = _stamp = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    entry: dict[str, Any] = {
        "ts": f"{stamp[1]}.{int((created - whole) * 1000):03d}Z",
        "level": logging.getLevelName(level).lower(),
        "event": _cut(event),
    }
    if fields:
        entry.update(fields)
        for key, value in fields.items():
            if isinstance(value, str) and len(value) > MAX_FIELD:
                entry[key] = _cut(value)
    if exception is not None:
        entry["exception"] = exception  # the type only: no locals, no paths
    return orjson.dumps(entry, default=str).decode()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None)
        exc_type = record.exc_info[0] if record.exc_info else None
        return format_line(
            record.created,
            record.levelno,
            record.getMessage(),
            fields if isinstance(fields, dict) else None,
            exc_type.__name__ if exc_type is not None else None,
        )


def setup_logging(level: int = logging.INFO, *, name: str = "cc_proxy", stream: TextIO | None = None) -> logging.Logger:
    """`name` and `stream` (default stderr) are for tests."""
    logger = logging.getLogger(name)
    if not any(getattr(h, "_cc_proxy", False) for h in logger.handlers):
        handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._cc_proxy = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger


def log_event(logger: logging.Logger, level: int, event: str, **fields: Any) -> None:
    if not logger.isEnabledFor(level):
        return
    handler = _own_handler(logger)
    if handler is None:  # someone added handlers or filters: the logging module's full path
        logger.log(level, event, extra={"fields": fields})
        return
    if level < handler.level:
        return
    # What logger.log would end up writing, without a LogRecord and the dispatch around it: ~40 us of
    # CPU per request in the server (its caches are cold for that code by the end of a request).
    line = format_line(time.time(), level, event, fields, None) + handler.terminator
    with handler.lock or contextlib.nullcontext():
        try:
            handler.stream.write(line)
            handler.stream.flush()
        except (OSError, ValueError):  # stderr closed or broken: as logging does, the line is dropped
            pass


def _own_handler(logger: logging.Logger) -> logging.StreamHandler[TextIO] | None:
    """setup_logging's handler, when it is the logger's only one and nothing filters."""
    handlers = logger.handlers
    if len(handlers) != 1 or logger.filters:
        return None
    handler = handlers[0]
    if not getattr(handler, "_cc_proxy", False) or handler.filters or not isinstance(handler, logging.StreamHandler):
        return None
    return handler
