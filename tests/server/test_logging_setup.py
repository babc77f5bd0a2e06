"""server/logging_setup.py: log_event writes its line directly through setup_logging's handler; the line
is the one the logging module's own path (JsonFormatter) writes, and any other set-up gets the full path."""

from __future__ import annotations

import calendar
import io
import itertools
import logging
import re
import time
from typing import Any

import orjson

from cc_proxy.server.logging_setup import log_event, setup_logging

_names = itertools.count()
FIELDS: dict[str, Any] = {
    "request_id": "req_1",
    "model": "m" * 400,  # cut to 300 characters
    "note": "line\nbreak \x1b[31m",  # escaped by the encoder: one line, no terminal codes
    "stream": False,
    "rule": None,
    "ms": 1.5,
    "obj": object(),  # not JSON: its str()
}


def _logger(level: int = logging.INFO) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    return setup_logging(level, name=f"cc_proxy_test_{next(_names)}", stream=stream), stream


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


def test_the_direct_line_is_the_logging_modules_line() -> None:
    logger, stream = _logger()
    before = time.time()
    log_event(logger, logging.INFO, "request", **FIELDS)
    logger.info("request", extra={"fields": FIELDS})  # the logging module's path, same formatter
    direct, standard = _lines(stream)
    assert stream.getvalue().count("\n") == 2
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", direct["ts"])
    assert abs(calendar.timegm(time.strptime(direct["ts"][:19], "%Y-%m-%dT%H:%M:%S")) - before) < 2  # UTC
    assert {k: v for k, v in direct.items() if k != "ts"} == {k: v for k, v in standard.items() if k != "ts"}
    assert direct["model"] == "m" * 300 + "..." and direct["note"] == "line\nbreak \x1b[31m"
    assert direct["level"] == "info" and direct["event"] == "request" and direct["obj"].startswith("<object")


def test_no_log_record_is_built_for_setup_loggings_own_handler_alone() -> None:
    logger, _stream = _logger()
    made: list[logging.LogRecord] = []
    factory = logging.getLogRecordFactory()

    def counting(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        made.append(record)
        return record

    logging.setLogRecordFactory(counting)
    try:
        log_event(logger, logging.INFO, "request", status=200)
        assert made == []  # the direct path
        logger.addHandler(logging.NullHandler())
        log_event(logger, logging.INFO, "request", status=200)
        assert len(made) == 1  # another handler: the logging module's path
    finally:
        logging.setLogRecordFactory(factory)


def test_levels_of_the_logger_and_the_handler_are_honoured() -> None:
    logger, stream = _logger(logging.INFO)
    log_event(logger, logging.DEBUG, "noise")
    logger.handlers[0].setLevel(logging.WARNING)
    log_event(logger, logging.INFO, "also-filtered")
    log_event(logger, logging.WARNING, "kept")
    assert [line["event"] for line in _lines(stream)] == ["kept"]


def test_another_handler_or_a_filter_gets_the_logging_modules_records() -> None:
    logger, stream = _logger()
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    logger.addHandler(Keep())
    log_event(logger, logging.INFO, "request", status=200)
    assert [r.fields for r in seen] == [{"status": 200}]  # type: ignore[attr-defined]
    assert _lines(stream)[0]["status"] == 200
    logger.handlers.pop()
    logger.addFilter(lambda record: record.getMessage() != "secret-event")
    log_event(logger, logging.INFO, "secret-event")
    assert len(_lines(stream)) == 1
