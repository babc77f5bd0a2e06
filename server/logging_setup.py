"""One JSON line per event on stderr: control characters escaped by the encoder, long fields cut.

Only an allow-list of fields is ever logged (no headers, no bodies), so keys cannot end up here.
Everything else that would write to stderr goes through the same formatter: Sanic's and other
libraries' loggers (WARNING and above, through the root logger; Sanic's own configuration is off),
warnings, and uncaught exceptions of the main thread and of other threads. A traceback becomes one
field of frames (`file:line in function`, innermost first), never source lines or values.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
import traceback
from types import TracebackType
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


MAX_FRAMES = 12


def traceback_frames(tb: TracebackType | None) -> str:
    """Where an exception went, innermost first: file names and lines only (no source, no locals)."""
    frames = traceback.extract_tb(tb)[-MAX_FRAMES:]
    return " <- ".join(f"{os.path.basename(f.filename)}:{f.lineno} in {f.name}" for f in reversed(frames))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None)
        fields = dict(fields) if isinstance(fields, dict) else {}
        if not record.name.startswith("cc_proxy"):
            fields["logger"] = record.name  # a library's line: say whose
        exc_type = record.exc_info[0] if record.exc_info else None
        if record.exc_info and record.exc_info[2] is not None:
            fields["traceback"] = traceback_frames(record.exc_info[2])
        return format_line(
            record.created,
            record.levelno,
            record.getMessage(),
            fields or None,
            exc_type.__name__ if exc_type is not None else None,
        )


def setup_logging(
    level: int = logging.INFO, *, name: str = "cc_proxy", stream: TextIO | None = None, everything: bool = False
) -> logging.Logger:
    """`name` and `stream` (default stderr) are for tests. `everything` (the server): the root logger
    (libraries, at WARNING and above), warnings and uncaught exceptions write JSON lines too."""
    logger = logging.getLogger(name)
    _add_handler(logger, stream)
    logger.setLevel(level)
    logger.propagate = False
    if everything:
        root = logging.getLogger()
        _add_handler(root, stream)
        root.setLevel(max(level, logging.WARNING))
        logging.captureWarnings(True)
        sys.excepthook = _uncaught
        threading.excepthook = _uncaught_in_thread
    return logger


def _add_handler(logger: logging.Logger, stream: TextIO | None) -> None:
    if not any(getattr(h, "_cc_proxy", False) for h in logger.handlers):
        handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._cc_proxy = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


def _uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    logging.getLogger("cc_proxy").error("uncaught_exception", exc_info=(kind, exc, tb))


def _uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    thread = args.thread.name if args.thread is not None else "?"
    logging.getLogger("cc_proxy").error(
        "uncaught_exception", exc_info=(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback),
        extra={"fields": {"thread": thread}},
    )


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
