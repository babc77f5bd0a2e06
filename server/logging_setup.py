"""One JSON line per event on stderr: control characters escaped by the encoder, long fields cut.

Only an allow-list of fields is ever logged (no headers, no bodies), so keys cannot end up here.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson

MAX_FIELD = 300


def _cut(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_FIELD:
        return value[:MAX_FIELD] + "..."
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "event": _cut(record.getMessage()),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                entry[key] = _cut(value)
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__  # the type only: no locals, no paths
        return orjson.dumps(entry, default=str).decode()


def setup_logging(level: int = logging.INFO) -> logging.Logger:
    logger = logging.getLogger("cc_proxy")
    if not any(getattr(h, "_cc_proxy", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._cc_proxy = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger


def log_event(logger: logging.Logger, level: int, event: str, **fields: Any) -> None:
    if logger.isEnabledFor(level):
        logger.log(level, event, extra={"fields": fields})
