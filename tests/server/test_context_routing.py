"""`models.*.context` through the real server: a request goes where its input fits, an upstream's
context overflow moves to a roomier fallback, and the answer's headers say what happened."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import ProxyFactory
from tests.fakes import anthropic_stream as A
from tests.fakes import openai_stream as O
from tests.fakes.responses import Json, anthropic_error, openai_error
from tests.fakes.server import FakeUpstream
from tests.reliability.conftest import wait_for_log

ENV = {"CTX_KEY": "sk-ctx-key-Rt5Yp2Wq9Zk1"}
OK = A.message(A.text("ok"))
LONG_TEXT = "the quick brown fox jumps over the lazy dog " * 330  # ~3,000 tokens


def config(url: str, *, long_context: bool = True) -> dict[str, Any]:
    routes: dict[str, Any] = {
        "default": {"model": "small", "fallbacks": ["medium", "big"]},
        "tight": "small",
        "overflowing": {"model": "medium", "fallbacks": ["big"]},
    }
    if long_context:
        routes["longContext"] = "huge"
    return {
        "server": {"retries": {"max": 2, "base": 0.01, "cap": 0.05}},
        "providers": {
            "up": {"format": "anthropic", "base_url": url, "api_key": "${CTX_KEY}", "profile": "anthropic"},
            "oa": {"format": "openai", "base_url": url + "/v1", "api_key": "${CTX_KEY}"},
        },
        "models": {
            "small": {"provider": "up", "model": "small-up", "context": 100},
            "medium": {"provider": "oa", "model": "medium-up", "context": 2000},
            "big": {"provider": "up", "model": "big-up", "context": "8k"},
            "huge": {"provider": "up", "model": "huge-up", "context": "1M"},
        },
        "routes": routes,
        "rules": ["rules.json"],
    }


RULES = {
    "routing": [
        {"id": "tight", "when": {"model": {"glob": "tight-*"}}, "route": "tight"},
        {"id": "overflowing", "when": {"model": {"glob": "over-*"}}, "route": "overflowing"},
    ]
}


def body(model: str, text: str = LONG_TEXT, max_tokens: int = 32000) -> dict[str, Any]:
    return {"model": model, "max_tokens": max_tokens, "messages": [{"role": "user", "content": text}]}


def post(url: str, payload: dict[str, Any]) -> httpx.Response:
    return httpx.post(url + "/v1/messages", json=payload, timeout=10)


def estimate(url: str, payload: dict[str, Any]) -> int:
    tokens: int = httpx.post(url + "/v1/messages/count_tokens", json=payload, timeout=10).json()["input_tokens"]
    return tokens


def test_a_request_that_does_not_fit_goes_to_the_first_fallback_it_fits(proxy_server: ProxyFactory) -> None:
    with FakeUpstream() as fake:
        fake.always("/v1/messages", Json(OK))
        proxy = proxy_server(config(fake.url), env=ENV, files={"rules.json": RULES})
        payload = body("claude-x")
        tokens = estimate(proxy.url, payload)
        assert 2000 < tokens < 8000  # too big for small (100) and medium (2,000), fits big (8k)
        response = post(proxy.url, payload)
        assert response.status_code == 200
        assert response.headers["x-cc-proxy-target"] == "up/big-up"
        [sent] = fake.requests
        assert sent.json["model"] == "big-up"
        assert sent.json["max_tokens"] == 8000 - tokens  # clamped to what the context leaves
        short = post(proxy.url, body("claude-x", "hi", max_tokens=50))
        assert short.headers["x-cc-proxy-target"] == "up/small-up"
        assert fake.requests[1].json["max_tokens"] == 50  # fits as asked: unchanged


def test_without_a_fitting_fallback_the_long_context_route_serves(proxy_server: ProxyFactory) -> None:
    with FakeUpstream() as fake:
        fake.always("/v1/messages", Json(OK))
        proxy = proxy_server(config(fake.url), env=ENV, files={"rules.json": RULES})
        response = post(proxy.url, body("tight-x"))
        assert response.status_code == 200
        assert response.headers["x-cc-proxy-target"] == "up/huge-up"
        assert fake.requests[0].json["max_tokens"] == 32000


def test_a_request_that_fits_nowhere_gets_anthropics_400_before_anything_is_sent(proxy_server: ProxyFactory) -> None:
    with FakeUpstream() as fake:
        fake.always("/v1/messages", Json(OK))
        proxy = proxy_server(config(fake.url, long_context=False), env=ENV, files={"rules.json": RULES})
        payload = body("tight-x")
        tokens = estimate(proxy.url, payload)
        response = post(proxy.url, payload)
        assert response.status_code == 400
        error = response.json()["error"]
        message = f"prompt is too long: {tokens} tokens > 100 maximum"
        assert error == {"type": "invalid_request_error", "message": message}
        assert response.headers["x-should-retry"] == "false"
        assert fake.requests == []


def test_an_upstream_context_overflow_moves_to_a_roomier_fallback(proxy_server: ProxyFactory) -> None:
    overflow = openai_error(
        400,
        "This model's maximum context length is 2000 tokens. However, your messages resulted in 2600 tokens.",
        "invalid_request_error",
        "context_length_exceeded",
    )
    with FakeUpstream() as fake:
        fake.always("/v1/chat/completions", overflow)
        fake.always("/v1/messages", Json(OK))
        proxy = proxy_server(config(fake.url), env=ENV, files={"rules.json": RULES})
        response = post(proxy.url, body("over-x", "a short question that fits locally", max_tokens=100))
        assert response.status_code == 200
        assert response.headers["x-cc-proxy-target"] == "up/big-up"
        assert response.headers["x-cc-proxy-fallback"] == "medium (prompt is too long)"
        assert response.headers["x-cc-proxy-attempts"] == "2"
        assert [r.path for r in fake.requests] == ["/v1/chat/completions", "/v1/messages"]
    [line] = wait_for_log(proxy, lambda e: e.get("event") == "request" and e.get("status") == 200)
    assert (line["attempts"], line["fallback"], line["passed_over"]) == (2, "big", "medium (prompt is too long)")


def test_an_overflow_with_no_roomier_fallback_reaches_the_client_reworded(proxy_server: ProxyFactory) -> None:
    with FakeUpstream() as fake:
        too_long = "prompt is too long: 9000 tokens > 8000 maximum"
        fake.always("/v1/messages", anthropic_error(400, "invalid_request_error", too_long))
        fake.always("/v1/chat/completions", O.auto(content=["never"]))
        cfg = config(fake.url)
        cfg["routes"]["overflowing"] = {"model": "big", "fallbacks": ["medium"]}
        proxy = proxy_server(cfg, env=ENV, files={"rules.json": RULES})
        response = post(proxy.url, body("over-x", "short", max_tokens=100))
        assert response.status_code == 400
        assert response.json()["error"]["message"] == "prompt is too long: 9000 tokens > 8000 maximum"
        assert "x-cc-proxy-fallback" not in response.headers
        assert [r.path for r in fake.requests] == ["/v1/messages"]


def test_a_failing_target_is_named_in_the_fallback_header(proxy_server: ProxyFactory) -> None:
    with FakeUpstream() as fake:
        fake.always("/v1/chat/completions", openai_error(503, "down", "server_error", "unavailable"))
        fake.always("/v1/messages", Json(OK))
        proxy = proxy_server(config(fake.url), env=ENV, files={"rules.json": RULES})
        response = post(proxy.url, body("over-x", "short", max_tokens=100))
        assert response.status_code == 200
        assert response.headers["x-cc-proxy-fallback"] == "medium (503)"
        assert response.headers["x-cc-proxy-attempts"] == "4"  # 1 + 2 retries on medium, then big
