"""`retries.max` and its deprecated old name `retries.attempts` through the real server against a fake
upstream that answers every request 500: both cost the same number of upstream requests (1 + the value),
the request log's `attempts` is that number, and `serve` prints the old name's `deprecated-key` warning."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ProxyFactory
from tests.fakes.responses import anthropic_error
from tests.fakes.server import FakeUpstream

REQUEST = {"model": "x", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
DEPRECATED = "warning: deprecated-key: `retries.attempts` is deprecated: rename it `retries.max`"


def _config(url: str, retries: dict[str, object]) -> dict[str, object]:
    return {
        "providers": {"up": {"format": "anthropic", "base_url": url, "api_key": "sk-ant-provider-0123456789"}},
        "models": {"m": {"provider": "up", "model": "up-model"}},
        "routes": {"default": "m"},
        "server": {"retries": {**retries, "base": 0.01, "cap": 0.02}},
    }


@pytest.mark.parametrize("retries", [0, 1, 3])
def test_old_and_new_key_send_the_same_upstream_requests(proxy_server: ProxyFactory, retries: int) -> None:
    sent: dict[str, int] = {}
    logged: dict[str, str] = {}
    for key in ("max", "attempts"):
        with FakeUpstream() as fake:
            fake.always("/v1/messages", anthropic_error(500, "api_error", "boom"))
            # --retry-stop-after 0: the retry budget's streak limit would otherwise cut a long run short.
            proxy = proxy_server(_config(fake.url, {key: retries}), args=("--retry-stop-after", "0"))
            answer = httpx.post(proxy.url + "/v1/messages", json=REQUEST, timeout=30)
            assert answer.status_code == 500 and answer.json()["error"]["type"] == "api_error"
            sent[key] = len(fake.requests)
        logged[key] = proxy.request_lines(1)[0]
        log = proxy.log()
        assert (DEPRECATED in log) == (key == "attempts"), log
        proxy.stop()
    assert sent == {"max": 1 + retries, "attempts": 1 + retries}
    assert all(f'"attempts":{1 + retries}' in line for line in logged.values()), logged
