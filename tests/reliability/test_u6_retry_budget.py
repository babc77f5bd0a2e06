"""U6: an always-503 upstream under concurrent load. Scaled to 2 shared cores: 40 concurrent clients
for 3 s (not 100 for 10 s), the proxy's default back-off (base 0.5 s, cap 8 s, 2 extra attempts)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from tests.fakes.responses import anthropic_error
from tests.fakes.server import FakeUpstream
from tests.reliability.conftest import CLIENT_KEY, OK, capture, reliability_config, reliability_rules, start_recorded
from tests.server.conftest import write_stack_files

CLIENTS = 40
SECONDS = 3.0


def test_u6_always_503_under_load_stays_within_the_retry_budget(tmp_path: Path) -> None:
    with FakeUpstream() as fake:
        fake.always("/v1/messages", anthropic_error(503, "api_error", "down"))
        config = reliability_config(fake.url, 9, retries={"max": 2, "base": 0.5, "cap": 8})
        config_path = write_stack_files(tmp_path, config, reliability_rules())
        proxy = start_recorded(config_path, args=("--no-watch",))
        statuses: list[int] = []
        errors: list[str] = []
        lock = threading.Lock()
        stop_at = time.monotonic() + SECONDS

        def client() -> None:
            with httpx.Client(timeout=30) as http:
                while time.monotonic() < stop_at:
                    try:
                        response = http.post(proxy.url + "/v1/messages", json=OK, headers={"x-api-key": CLIENT_KEY})
                        with lock:
                            statuses.append(response.status_code)
                            if len(statuses) % 50 == 0:
                                capture(response)
                    except httpx.HTTPError as exc:
                        with lock:
                            errors.append(repr(exc))

        try:
            threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            attempts = len(fake.requests)
        finally:
            proxy.stop()
    assert not errors, errors[:3]
    assert statuses and set(statuses) == {503}
    requests = len(statuses)
    assert attempts <= 1.2 * requests + 3, (attempts, requests)
