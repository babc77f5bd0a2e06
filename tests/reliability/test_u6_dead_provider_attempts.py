"""U6 (issue 10): a provider that keeps failing costs about one upstream attempt per client request,
while a single transient failure is still retried. The figures are printed (`pytest -s`) for the record."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from tests.fakes.responses import Json, anthropic_error
from tests.fakes.server import FakeUpstream
from tests.reliability.conftest import CLIENT_KEY, OK, capture, reliability_config, reliability_rules, start_recorded
from tests.server.conftest import write_stack_files

REQUESTS = 50
ANSWER = {
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn", "stop_sequence": None,
    "usage": {"input_tokens": 1, "output_tokens": 1},
}


def _run(proxy_url: str, concurrency: int) -> list[int]:
    statuses: list[int] = []
    lock = threading.Lock()
    left = iter(range(REQUESTS))

    def client() -> None:
        with httpx.Client(timeout=30) as http:
            while True:
                with lock:
                    if next(left, None) is None:
                        return
                response = http.post(proxy_url + "/v1/messages", json=OK, headers={"x-api-key": CLIENT_KEY})
                capture(response)
                with lock:
                    statuses.append(response.status_code)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return statuses


@pytest.mark.parametrize("status", [500, 503, 529])
@pytest.mark.parametrize("concurrency", [1, 5])
def test_u6_dead_provider_costs_about_one_attempt_per_request(tmp_path: Path, concurrency: int, status: int) -> None:
    with FakeUpstream() as fake:
        kind = "overloaded_error" if status == 529 else "api_error"
        fake.always("/v1/messages", anthropic_error(status, kind, "down"))
        config = reliability_config(fake.url, 9)
        # No ejection (one target anyway): only the retry budget is measured.
        proxy = start_recorded(write_stack_files(tmp_path, config, reliability_rules()), args=("--eject-after", "0"))
        try:
            statuses = _run(proxy.url, concurrency)
            attempts = len(fake.requests)
        finally:
            proxy.stop()
    assert statuses == [status] * REQUESTS
    print(f"\nU6 dead provider ({status}) c={concurrency}: {attempts} attempts / {REQUESTS} requests"
          f" = {attempts / REQUESTS:.2f} per request")
    assert attempts <= 1.2 * REQUESTS, attempts


def test_u6_a_single_transient_failure_is_still_retried_after_an_outage(tmp_path: Path) -> None:
    with FakeUpstream() as fake:
        fake.always("/v1/messages", anthropic_error(500, "api_error", "down"))
        config = reliability_config(fake.url, 9)
        proxy = start_recorded(write_stack_files(tmp_path, config, reliability_rules()), args=("--eject-after", "0"))
        try:
            assert _run(proxy.url, 1) == [500] * REQUESTS  # an outage: retries stop
            fake.always("/v1/messages", Json(ANSWER))
            recovered = httpx.post(proxy.url + "/v1/messages", json=OK, headers={"x-api-key": CLIENT_KEY})
            assert recovered.status_code == 200  # the first attempt after the outage is the probe
            before = len(fake.requests)
            fake.add("/v1/messages", anthropic_error(500, "api_error", "blip"))
            blip = httpx.post(proxy.url + "/v1/messages", json=OK, headers={"x-api-key": CLIENT_KEY})
            assert blip.status_code == 200 and blip.json()["content"][0]["text"] == "ok"
            assert len(fake.requests) - before == 2  # the blip, then its retry
        finally:
            proxy.stop()
