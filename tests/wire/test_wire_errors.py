"""Upstream error -> Anthropic error: golden cases (tests/cases/errors), pass-through, redaction, in-band events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from cc_proxy.engine.wire.errors import (
    anthropic_error_from_json,
    anthropic_error_from_upstream,
    in_band_error_event,
    redact,
    snippet,
    status_for_error_type,
)
from cc_proxy.engine.wire.sse import SSEDecoder, encode

CASES = Path(__file__).parent.parent / "cases" / "errors"
CASE_DIRS = sorted(p for p in CASES.iterdir() if p.is_dir())
JSON = "application/json"


@pytest.mark.parametrize("case", CASE_DIRS, ids=[p.name for p in CASE_DIRS])
def test_golden(case: Path) -> None:
    """upstream.json: status, content_type, body (text); expected.json: status, type, optional message."""
    upstream = json.loads((case / "upstream.json").read_text())
    expected = json.loads((case / "expected.json").read_text())
    got_status, got = anthropic_error_from_upstream(
        upstream["status"], upstream["body"].encode(), upstream["content_type"]
    )
    assert got_status == expected["status"]
    assert set(got) == {"type", "error"} and got["type"] == "error"
    assert got["error"]["type"] == expected["type"]
    assert isinstance(got["error"]["message"], str) and got["error"]["message"]
    if "message" in expected:
        assert got["error"]["message"] == expected["message"]


def test_anthropic_errors_pass_through_unchanged() -> None:
    body: dict[str, Any] = {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "thinking: signature invalid", "extra": 1},
        "request_id": "req_011",
    }
    assert anthropic_error_from_upstream(400, orjson.dumps(body), JSON) == (400, body)
    assert anthropic_error_from_upstream(529, orjson.dumps(body), None) == (529, body)  # status as sent
    assert anthropic_error_from_json(200, body) == (400, body)  # an error in a 2xx body: status from its type


def test_garbage_is_quoted_short_and_redacted() -> None:
    secret_body = (
        b"<html>\n<title>\x1b[31mError</title> api_key=abcdef123456 x-api-key: sk-ant-api03-SECRETSECRET "
        b"Authorization: Bearer tok.en-123 https://x/?key=AIzaSyA1234567890abcdefghijk&alt=sse " + "é".encode() * 300
    )
    status, got = anthropic_error_from_upstream(200, secret_body, "text/html")
    message = got["error"]["message"]
    assert status == 502
    for leaked in ("abcdef123456", "SECRETSECRET", "tok.en-123", "AIzaSyA1234567890abcdefghijk", "\x1b", "\n"):
        assert leaked not in message
    quoted = message.split(": ", 1)[1]
    assert len(quoted.encode()) <= 200


def test_a_key_straddling_the_cut_is_still_redacted() -> None:
    for pad in range(180, 200):
        text = snippet(b"x" * pad + b" sk-ant-api03-SECRETSECRETSECRET tail")
        assert "SECRET" not in text and len(text.encode()) <= 200


def test_redact_leaves_ordinary_text() -> None:
    assert redact("Invalid value for 'max_tokens': 999999") == "Invalid value for 'max_tokens': 999999"
    assert redact("token=abc&x=1") == "token=***&x=1"


def test_in_band_error_event_encodes_as_anthropic_sends_it() -> None:
    event = in_band_error_event("overloaded_error", 'Upstream "gone"\nmid-stream')
    assert event.event == "error"
    assert orjson.loads(event.data) == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": 'Upstream "gone"\nmid-stream'},
    }
    assert SSEDecoder().feed(encode(event)) == [event]


def test_status_for_error_type() -> None:
    assert status_for_error_type("overloaded_error") == 529
    assert status_for_error_type("rate_limit_error") == 429
    assert status_for_error_type("something_new") == 500
