"""The breaker's half-open state through the real server: an ejected target is skipped, then one
request (the probe) may prove it again while the others still go to the fallback."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import ProxyFactory
from tests.fakes import anthropic_stream as A
from tests.fakes.responses import Json, Response, anthropic_error
from tests.fakes.server import FakeUpstream, RecordedRequest

OK = A.message(A.text("ok"))
BODY: dict[str, Any] = {"model": "claude-x", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
ARGS = ("--eject-after", "1", "--eject-for", "0.5")


def config(primary: str, backup: str) -> dict[str, Any]:
    return {
        "server": {"retries": {"max": 0, "base": 0.01, "cap": 0.05}},
        "providers": {
            "p": {"format": "anthropic", "base_url": primary, "api_key": "sk-primary-Hq2Lw8Rt4Zx6"},
            "b": {"format": "anthropic", "base_url": backup, "api_key": "sk-backup-Jm5Pk1Vn7Cy3"},
        },
        "models": {"primary": {"provider": "p", "model": "p-up"}, "backup": {"provider": "b", "model": "b-up"}},
        "routes": {"default": {"model": "primary", "fallbacks": ["backup"]}},
    }


def post(url: str, timeout: float = 10) -> httpx.Response:
    return httpx.post(url + "/v1/messages", json=BODY, timeout=timeout)


def circuit(url: str) -> dict[str, Any]:
    """The primary target's circuit as /health shows it."""
    found: dict[str, Any] = httpx.get(url + "/health").json()["targets"]["primary"]
    return found


def wait_until(what: str, check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_an_ejected_target_is_probed_by_one_request_and_closes_on_success(proxy_server: ProxyFactory) -> None:
    release = threading.Event()

    def held_ok(request: RecordedRequest) -> Response:
        release.wait(60)  # the probe stays in flight until the test lets it answer
        return Json(OK)

    with FakeUpstream() as primary, FakeUpstream() as backup:
        primary.add("/v1/messages", anthropic_error(503, "api_error", "down"))
        backup.always("/v1/messages", Json(OK))
        proxy = proxy_server(config(primary.url, backup.url), args=ARGS)
        first = post(proxy.url)
        assert (first.status_code, first.headers["x-cc-proxy-target"]) == (200, "b/b-up")
        assert first.headers["x-cc-proxy-fallback"] == "primary (503)"
        assert circuit(proxy.url)["circuit"] == "open"
        skipped = post(proxy.url)
        assert skipped.headers["x-cc-proxy-fallback"] == "primary (ejected)"
        assert len(primary.requests) == 1
        wait_until("half-open", lambda: circuit(proxy.url)["circuit"] == "half-open")
        primary.always("/v1/messages", held_ok)
        probe: list[httpx.Response] = []
        prober = threading.Thread(target=lambda: probe.append(post(proxy.url, timeout=60)))
        prober.start()
        primary.wait_for_requests(2)
        assert {k: circuit(proxy.url)[k] for k in ("circuit", "probing", "ejections")} == {
            "circuit": "half-open",
            "probing": True,
            "ejections": 1,
        }
        during = post(proxy.url)  # the probe is out: this one still goes to the fallback
        assert during.headers["x-cc-proxy-target"] == "b/b-up"
        release.set()
        prober.join(60)
        assert probe[0].headers["x-cc-proxy-target"] == "p/p-up"
        assert circuit(proxy.url)["circuit"] == "closed"
        assert post(proxy.url).headers["x-cc-proxy-target"] == "p/p-up"
        assert len(primary.requests) == 3


def test_a_failed_probe_ejects_the_target_again_for_twice_as_long(proxy_server: ProxyFactory) -> None:
    with FakeUpstream() as primary, FakeUpstream() as backup:
        primary.always("/v1/messages", anthropic_error(503, "api_error", "down"))
        backup.always("/v1/messages", Json(OK))
        proxy = proxy_server(config(primary.url, backup.url), args=ARGS)
        post(proxy.url)
        wait_until("half-open", lambda: circuit(proxy.url)["circuit"] == "half-open")
        probe = post(proxy.url)
        assert probe.headers["x-cc-proxy-fallback"] == "primary (503)"
        assert circuit(proxy.url)["circuit"] == "open"  # again, for twice as long (test_units)
        assert len(primary.requests) == 2
