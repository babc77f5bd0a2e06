"""GET /metrics after real requests (both upstream formats, streamed and not, an error, a fallback),
parsed with prometheus-client's parser: the counts and token sums are the fake upstream's."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import anthropic_error
from tests.fakes import anthropic_stream as A
from tests.fakes import openai_stream as O
from tests.fakes.server import FakeUpstream
from tests.observe.conftest import SESSION, observe_stack, scrape, total
from tests.observe.test_request_log import ASK, OPENAI_USAGE, USAGE
from tests.server.conftest import CLIENT_KEY, Stack, assert_no_canary

TOKEN = "proxy-token-canary-Xk2Vq8Lr5Tw1"


def post(stack: Stack, path: str, body: dict[str, Any]) -> httpx.Response:
    return stack.post(path, body, {"x-claude-code-session-id": SESSION, "x-claude-code-agent-id": "agent-7"})


def traffic(stack: Stack) -> None:
    """8 API requests: 2 Anthropic (JSON, stream), 2 OpenAI (JSON, stream), 1 fallback, 1 error (400),
    1 count_tokens, 1 pass-through with an unknown price."""
    fake = stack.fake
    fake.always("/v1/messages", A.auto(A.message(A.text("ok"), usage=USAGE)))
    fake.always("/v1/chat/completions", O.auto(content=["Hel", "lo"], usage=OPENAI_USAGE))
    fake.always("/compat/v1/messages", A.auto(A.message(A.text("backup"), usage=USAGE)))
    fake.always("/fwd/v1/messages", A.auto(A.message(A.text("ok"), usage=USAGE)))
    for body in (ASK, {**ASK, "stream": True}, {**ASK, "model": "gpt-4o"}, {**ASK, "model": "gpt-4o", "stream": True}):
        assert post(stack, "/v1/messages", body).status_code == 200
    fake.add("/v1/messages", *[anthropic_error(529, "overloaded_error", "Overloaded")] * 3)
    assert post(stack, "/v1/messages", {**ASK, "model": "fb-1"}).status_code == 200
    assert post(stack, "/v1/messages", {**ASK, "max_tokens": "ten"}).status_code == 400
    count = {"model": "claude-sonnet-4-5", "messages": ASK["messages"]}
    assert post(stack, "/v1/messages/count_tokens", count).status_code == 200
    assert post(stack, "/v1/messages", {**ASK, "model": "fwd-model"}).status_code == 200


def test_metrics_count_requests_tokens_and_cost(observed: Stack) -> None:
    before = scrape(observed)
    traffic(observed)
    after = scrape(observed)

    def delta(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert delta("cc_proxy_requests_total") == 8
    assert delta("cc_proxy_requests_total", endpoint="messages", status="200") == 6
    assert delta("cc_proxy_requests_total", endpoint="count_tokens") == 1
    assert delta("cc_proxy_requests_total", status="400", error_type="invalid_request_error") == 1
    # the fallback is counted against the target that answered, marked as a fallback
    fallback = {"provider": "compat", "model": "backup", "fallback": "true", "route": "withFallback"}
    assert delta("cc_proxy_requests_total", **fallback) == 1
    assert delta("cc_proxy_upstream_attempts_total", provider="anthropic", model="sonnet", outcome="error") == 3
    assert delta("cc_proxy_upstream_attempts_total", provider="compat", model="backup", outcome="success") == 1
    # tokens: 3 Anthropic-format answers on sonnet (2) + fwd (1), backup 1, gpt 2
    assert delta("cc_proxy_tokens_total", provider="anthropic", model="sonnet", type="input") == 2 * 1200
    assert delta("cc_proxy_tokens_total", provider="anthropic", model="sonnet", type="cache_read") == 2 * 5000
    assert delta("cc_proxy_tokens_total", provider="anthropic", model="sonnet", type="output") == 2 * 80
    assert delta("cc_proxy_tokens_total", provider="openai", model="gpt", type="input") == 2 * 500
    assert delta("cc_proxy_tokens_total", provider="openai", model="gpt", type="cache_read") == 2 * 1000
    assert delta("cc_proxy_tokens_total", provider="forward", type="input") == 1200
    sonnet = (1200 * 3 + 80 * 15 + 5000 * 0.3 + 300 * 3.75) / 1e6
    assert delta("cc_proxy_cost_usd_total", provider="anthropic", model="sonnet") == pytest.approx(2 * sonnet)
    assert delta("cc_proxy_cost_usd_total", provider="forward") == 0  # unknown price: nothing added
    # histograms: one observation per API request, buckets cumulative up to +Inf
    assert delta("cc_proxy_request_duration_seconds_count") == 8
    assert delta("cc_proxy_request_duration_seconds_bucket", le="+Inf") == 8
    assert delta("cc_proxy_first_event_seconds_count", provider="openai") == 2
    assert delta("cc_proxy_upstream_ttfb_seconds_count", provider="compat") == 1
    assert total(after, "cc_proxy_in_flight") == 0
    assert ("cc_proxy_circuit_open", (("model", "sonnet"), ("provider", "anthropic"))) in after
    assert total(after, "cc_proxy_reloads_total", result="ok") == 0
    # /health and /metrics themselves are not API requests
    httpx.get(observed.url + "/health")
    assert total(scrape(observed), "cc_proxy_requests_total") == total(after, "cc_proxy_requests_total")


def test_labels_come_from_the_config_never_from_request_text(observed: Stack) -> None:
    observed.fake.always("/fwd/v1/messages", A.auto(A.message(A.text("ok"))))
    odd = "fwd-user-text-Zq9\u202e"
    assert observed.post("/v1/messages", {**ASK, "model": odd}).status_code == 200
    text = httpx.get(observed.url + "/metrics").text
    assert "user-text" not in text and "Zq9" not in text
    assert_no_canary(text)


def test_metrics_follow_the_api_auth_rule(tmp_path: Path) -> None:
    with FakeUpstream() as fake:
        stack = observe_stack(tmp_path, fake, auth_token=TOKEN)
        try:
            assert httpx.get(stack.url + "/metrics").status_code == 401
            assert httpx.get(stack.url + "/metrics", headers={"x-api-key": CLIENT_KEY}).status_code == 401
            samples = scrape(stack, {"authorization": f"Bearer {TOKEN}"})
            assert ("cc_proxy_in_flight", ()) in samples
            assert httpx.get(stack.url + "/cc-proxy/usage").status_code == 401
        finally:
            stack.proxy.stop()


def test_two_workers_add_up(tmp_path: Path) -> None:
    """With --workers 2 each request lands on either worker; every scrape (on either) sees them all."""
    # The operator's own multiprocess directory is used as is: here it shows which workers counted.
    files = tmp_path / "metrics"
    files.mkdir()
    with FakeUpstream() as fake:
        stack = observe_stack(tmp_path, fake, args=("--workers", "2"), env={"PROMETHEUS_MULTIPROC_DIR": str(files)})
        try:
            fake.always("/v1/messages", A.auto(A.message(A.text("ok"), usage=USAGE)))
            sent = 0
            deadline = time.monotonic() + 60
            # a new connection per request until both workers have answered (the kernel spreads accepts)
            while len(list(files.glob("counter_*.db"))) < 2 or sent < 10:
                assert time.monotonic() < deadline, "one worker answered every request"
                assert stack.post("/v1/messages", ASK).status_code == 200
                sent += 1
            for _ in range(6):  # scrapes land on either worker
                samples = scrape(stack)
                assert total(samples, "cc_proxy_requests_total") == sent
                assert total(samples, "cc_proxy_tokens_total", type="input") == sent * 1200
                assert total(samples, "cc_proxy_request_duration_seconds_count") == sent
                assert total(samples, "cc_proxy_in_flight") == 0
        finally:
            stack.proxy.stop()


def test_recording_can_be_turned_off(tmp_path: Path) -> None:
    with FakeUpstream() as fake:
        stack = observe_stack(tmp_path, fake, args=("--no-metrics", "--no-usage"))
        try:
            fake.always("/v1/messages", A.auto(A.message(A.text("ok"), usage=USAGE)))
            assert stack.post("/v1/messages", ASK).status_code == 200
            assert httpx.get(stack.url + "/metrics").status_code == 404
            assert httpx.get(stack.url + "/cc-proxy/usage").status_code == 404
            assert httpx.get(stack.url + "/cc-proxy/live").json()["usage_history"] is False
        finally:
            stack.proxy.stop()
    assert not (tmp_path / "usage.sqlite3").exists()
    assert '"tokens_in":1200' in stack.proxy.log()  # the log line still has the answer's usage
