"""The request log line: tokens (the upstream's own usage), cost from the price table, time to first
event, attempts and the fallback taken, for both upstream formats, streamed and not."""

from __future__ import annotations

import time
from typing import Any

from tests.fakes import anthropic_error
from tests.fakes import anthropic_stream as A
from tests.fakes import openai_stream as O
from tests.observe.conftest import SESSION
from tests.reliability.conftest import log_entries
from tests.server.conftest import Stack, assert_no_canary

ASK = {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
USAGE = {"input_tokens": 1200, "cache_creation_input_tokens": 300, "cache_read_input_tokens": 5000, "output_tokens": 80}
OPENAI_USAGE = {
    "prompt_tokens": 1500,
    "completion_tokens": 40,
    "total_tokens": 1540,
    "prompt_tokens_details": {"cached_tokens": 1000},
    "completion_tokens_details": {"reasoning_tokens": 0},
}


def request_line(stack: Stack, body: dict[str, Any]) -> dict[str, Any]:
    """The log line of one request (the fake upstream's own request-id header is forwarded to the
    client, so the line is found as the one request line that was not there before)."""
    before = len(requests_logged(stack))
    response = stack.post("/v1/messages", body, {"x-claude-code-session-id": SESSION})
    deadline = time.monotonic() + 5
    entries = requests_logged(stack)[before:]
    while not entries and time.monotonic() < deadline:  # the line is written just after the answer
        time.sleep(0.02)
        entries = requests_logged(stack)[before:]
    assert len(entries) == 1
    entry = entries[0]
    entry["_status"] = response.status_code
    return entry


def requests_logged(stack: Stack) -> list[dict[str, Any]]:
    return [e for e in log_entries(stack.proxy) if e["event"] == "request"]


def sonnet_cost(usage: dict[str, int]) -> float:
    """claude-sonnet-4-5's shipped price: $3 input, $15 output, $0.30 cache read, $3.75 cache write."""
    return (
        usage["input_tokens"] * 3
        + usage["output_tokens"] * 15
        + usage["cache_read_input_tokens"] * 0.3
        + usage["cache_creation_input_tokens"] * 3.75
    ) / 1e6


def test_anthropic_json_answer_logs_its_usage_and_shipped_price(observed: Stack) -> None:
    observed.fake.always("/v1/messages", A.auto(A.message(A.text("ok"), usage=USAGE)))
    line = request_line(observed, ASK)
    assert line["_status"] == 200 and line["stream"] is False
    assert (line["tokens_in"], line["tokens_out"]) == (1200, 80)
    assert (line["tokens_cache_read"], line["tokens_cache_write"]) == (5000, 300)
    assert abs(line["cost_usd"] - sonnet_cost(USAGE)) < 1e-9
    assert line["attempts"] == 1 and "fallback" not in line
    assert 0 < line["upstream_ttfb_ms"] <= line["ttft_ms"] <= line["ms"]


def test_anthropic_stream_usage_is_message_start_plus_message_delta(observed: Stack) -> None:
    observed.fake.always("/v1/messages", A.auto(A.message(A.text("streamed answer"), usage=USAGE)))
    line = request_line(observed, {**ASK, "stream": True})
    assert line["_status"] == 200 and line["stream"] is True
    # message_start carries input and cache counts, message_delta the final output count
    assert (line["tokens_in"], line["tokens_out"], line["tokens_cache_read"]) == (1200, 80, 5000)
    assert abs(line["cost_usd"] - sonnet_cost(USAGE)) < 1e-9
    assert line["ttft_ms"] <= line["ms"]


def test_openai_stream_and_json_are_priced_from_the_config(observed: Stack) -> None:
    observed.fake.always("/v1/chat/completions", O.auto(content=["Hel", "lo"], usage=OPENAI_USAGE))
    expected = (500 * 2 + 40 * 8 + 1000 * 0.5) / 1e6  # input excludes the 1000 cached tokens
    for stream in (True, False):
        line = request_line(observed, {**ASK, "model": "gpt-4o", "stream": stream})
        assert line["_status"] == 200
        assert (line["tokens_in"], line["tokens_out"], line["tokens_cache_read"]) == (500, 40, 1000)
        assert abs(line["cost_usd"] - expected) < 1e-9, stream


def test_fallback_and_attempts_are_logged(observed: Stack) -> None:
    observed.fake.add("/v1/messages", *[anthropic_error(529, "overloaded_error", "Overloaded")] * 3)
    observed.fake.always("/compat/v1/messages", A.auto(A.message(A.text("from backup"), usage=USAGE)))
    line = request_line(observed, {**ASK, "model": "fb-1"})
    assert line["_status"] == 200
    assert line["fallback"] == "backup" and line["attempts"] == 4  # 1 attempt + 2 retries, then the fallback
    assert line["target"] == "compat/backup-model" and line["alias"] == "backup"  # as x-cc-proxy-target
    backup = (1200 * 1 + 80 * 2 + 5000 * 0.1 + 300 * 1.25) / 1e6
    assert abs(line["cost_usd"] - backup) < 1e-9


def test_an_unpriced_model_has_a_null_cost_and_an_error_has_no_tokens(observed: Stack) -> None:
    observed.fake.always("/fwd/v1/messages", A.auto(A.message(A.text("ok"), usage=USAGE)))
    line = request_line(observed, {**ASK, "model": "fwd-unknown-model"})
    assert line["tokens_in"] == 1200 and line["cost_usd"] is None  # unknown price: null, never 0
    observed.fake.add("/v1/messages", anthropic_error(400, "invalid_request_error", "bad"))
    line = request_line(observed, ASK)
    assert line["_status"] == 400 and "tokens_in" not in line and "cost_usd" not in line
    assert_no_canary(observed.proxy.log())
