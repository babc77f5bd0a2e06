"""Unit tests of the server's pure pieces: body checks, retry policy, credentials, client auth."""

from __future__ import annotations

from typing import Any

import pytest

from cc_proxy.engine.errors import ProxyError
from cc_proxy.engine.profiles import BUILTIN_PROFILES
from cc_proxy.engine.snapshot import ApiKey, ResolvedProvider, ServerSettings
from cc_proxy.server.auth import client_authorized
from cc_proxy.server.credentials import credential_headers
from cc_proxy.server.request_body import check_messages_request, parse_json_object
from cc_proxy.server.retry import RetryBudget, retry_after_seconds, retry_delay
from cc_proxy.server.settings import bind_refusal

OK = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}

BAD_JSON = {
    "syntax": b'{"model": ',
    "empty": b"",
    "top-level-array": b'[{"model": "m"}]',
    "nan": b'{"model": "m", "temperature": NaN}',
    "lone-surrogate": b'{"model": "\\ud800"}',
    "non-utf8": b'{"model": "\xff\xfe"}',
    "deep-nesting": b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "string": b'"just a string"',
    "duplicate-top-level-compact": b'{"model":"a","messages":[],"model":"b"}',
    "duplicate-nested-compact": b'{"model":"a","messages":[{"role":"user","role":"assistant","content":"x"}]}',
    "duplicate-pretty": b'{\n  "model": "a",\n  "metadata": {"user_id": "u", "user_id": "v"}\n}',
    "duplicate-escaped-name": b'{"model": "a", "mod\\u0065l": "b"}',  # the same key once decoded
    # orjson reads 1024 levels; this one is not orjson's own output, so the standard parser checks it
    "too-deep-to-check": b'{"a": ' + b"[" * 1020 + b"]" * 1020 + b"}",
}


@pytest.mark.parametrize("raw", BAD_JSON.values(), ids=BAD_JSON.keys())
def test_bad_json_is_a_400(raw: bytes) -> None:
    with pytest.raises(ProxyError) as caught:
        parse_json_object(raw)
    assert caught.value.status == 400 and caught.value.error_type == "invalid_request_error"


WRONG_TYPES: dict[str, tuple[dict[str, Any], str]] = {
    "messages-string": ({**OK, "messages": "x"}, "messages"),
    "max-tokens-string": ({**OK, "max_tokens": "10"}, "max_tokens"),
    "max-tokens-bool": ({**OK, "max_tokens": True}, "max_tokens"),
    "content-number": ({**OK, "messages": [{"role": "user", "content": 5}]}, "messages.0.content"),
    "stream-string": ({**OK, "stream": "yes"}, "stream"),
    "model-number": ({**OK, "model": 5}, "model"),
    "model-missing": ({k: v for k, v in OK.items() if k != "model"}, "model"),
    "messages-missing": ({k: v for k, v in OK.items() if k != "messages"}, "messages"),
    "message-not-object": ({**OK, "messages": ["hi"]}, "messages.0"),
    "role-missing": ({**OK, "messages": [{"content": "hi"}]}, "messages.0.role"),
    "block-not-object": ({**OK, "messages": [{"role": "user", "content": ["hi"]}]}, "messages.0.content.0"),
    "system-number": ({**OK, "system": 3}, "system"),
    "tools-object": ({**OK, "tools": {"name": "x"}}, "tools"),
}


@pytest.mark.parametrize("body, field", WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
def test_wrong_types_name_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ProxyError) as caught:
        check_messages_request(body)
    assert caught.value.status == 400
    assert caught.value.message.startswith(field + ":")


def test_unknown_fields_and_betas_are_accepted() -> None:
    body = {
        **OK,
        "context_management": {"edits": []},
        "output_config": {"effort": "high"},
        "some_future_field": [1, 2],
        "system": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}],
        "tools": [{"type": "web_search_20250305", "name": "web_search", "defer_loading": True}],
    }
    check_messages_request(body)  # no exception


S = ServerSettings(retry_base=0.5, retry_cap=8.0)


def test_retry_policy_table() -> None:
    assert retry_delay(400, {}, 0, S) is None
    assert retry_delay(401, {}, 0, S) is None
    assert retry_delay(404, {}, 0, S) is None
    assert retry_delay(413, {}, 0, S) is None
    assert retry_delay(429, {}, 0, S) is None  # no retry-after: a quota, not a blip
    assert retry_delay(429, {"retry-after": "120"}, 0, S) is None
    assert retry_delay(429, {"retry-after": "2"}, 0, S) == pytest.approx(2.0, abs=0.51)
    assert (retry_delay(429, {"retry-after": "2"}, 0, S) or 0) >= 2.0
    for status in (500, 502, 503, 529):
        delay = retry_delay(status, {}, 0, S)
        assert delay is not None and 0 <= delay <= 0.5
    assert (retry_delay(503, {}, 10, S) or 0) <= 8.0  # capped


def test_retry_after_forms() -> None:
    assert retry_after_seconds({"retry-after": "3"}) == 3
    assert retry_after_seconds({"retry-after-ms": "1500"}) == 1.5
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412480 - 10) == 10
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_retry_budget_floor_and_share() -> None:
    budget = RetryBudget()
    budget.in_flight = 100
    budget.retrying = 19
    assert budget.allows("t")
    budget.retrying = 20
    assert not budget.allows("t")
    budget.in_flight, budget.retrying = 1, 2
    assert budget.allows("t")  # floor of 3


def test_retry_budget_stops_retrying_a_target_whose_last_attempts_failed() -> None:
    budget = RetryBudget(streak_limit=3)
    budget.failed("dead")
    budget.failed("dead")
    assert budget.allows("dead")  # two failures in a row: still worth a retry
    budget.failed("dead")
    assert not budget.allows("dead")  # three: only first attempts (probes) until one succeeds
    assert budget.allows("other")  # per target
    budget.succeeded("dead")
    assert budget.allows("dead")


def _provider(kind: str, value: str | None = None, profile: str = "anthropic", fmt: str = "anthropic") -> Any:
    return ResolvedProvider(
        "p", fmt, "https://example.test", ApiKey(kind, value, "P_KEY"), {}, BUILTIN_PROFILES[profile]  # type: ignore[arg-type]
    )


def test_provider_key_replaces_the_client_key() -> None:
    client = {"x-api-key": "client-key", "authorization": "Bearer client-token"}
    assert credential_headers(_provider("env", "k1"), client, None) == {"x-api-key": "k1"}
    compat = _provider("env", "k2", "anthropic-compatible")
    assert credential_headers(compat, client, None) == {"authorization": "Bearer k2"}
    openai = _provider("literal", "k3", "openai", "openai")
    assert credential_headers(openai, client, None) == {"authorization": "Bearer k3"}
    assert credential_headers(_provider("none"), client, None) == {}


def test_forward_passes_the_client_key_but_never_the_proxy_token() -> None:
    fwd = _provider("forward")
    assert credential_headers(fwd, {"x-api-key": "client-key"}, None) == {"x-api-key": "client-key"}
    assert credential_headers(fwd, {"authorization": "Bearer t"}, None) == {"authorization": "Bearer t"}
    both = {"x-api-key": "proxy-token", "authorization": "Bearer real-key"}
    assert credential_headers(fwd, both, "proxy-token") == {"authorization": "Bearer real-key"}


def test_unset_key_is_a_proxy_error_naming_the_variable_not_a_value() -> None:
    with pytest.raises(ProxyError) as caught:
        credential_headers(_provider("env", None), {"x-api-key": "client"}, None)
    assert caught.value.should_retry is False
    assert "P_KEY" in caught.value.message


def test_client_auth() -> None:
    assert client_authorized({}, None)
    assert client_authorized({"x-api-key": "tok"}, "tok")
    assert client_authorized({"authorization": "Bearer tok"}, "tok")
    assert not client_authorized({"x-api-key": "nope"}, "tok")
    assert not client_authorized({}, "tok")


def test_breaker_ejects_after_consecutive_failures_doubling_to_a_cap() -> None:
    from cc_proxy.server.breaker import Breaker

    now = [0.0]
    breaker = Breaker(threshold=3, base=30, cap=100, clock=lambda: now[0])
    for _ in range(2):
        breaker.failure("t")
    assert not breaker.ejected("t")
    breaker.failure("t")
    assert breaker.ejected("t") and breaker.remaining("t") == 30
    now[0] = 31
    assert not breaker.ejected("t")
    for _ in range(3):
        breaker.failure("t")
    assert breaker.remaining("t") == 60  # doubled
    now[0] = 100
    for _ in range(3):
        breaker.failure("t")
    assert breaker.remaining("t") == 100  # capped
    breaker.success("t")
    assert not breaker.ejected("t")
    breaker.failure("t")
    assert not breaker.ejected("t")  # the count restarted


def test_failed_auth_limiter_blocks_one_address_for_the_rest_of_its_window() -> None:
    from cc_proxy.server.auth import FailedAuthLimiter

    now = [0.0]
    limiter = FailedAuthLimiter(limit=3, window=60, clock=lambda: now[0], max_addresses=2)
    for t in (0.0, 10.0, 20.0):
        now[0] = t
        assert limiter.blocked_for("a") == 0
        limiter.failed("a")
    assert limiter.blocked_for("a") == 40  # until the first failure leaves the window
    assert limiter.blocked_for("b") == 0  # others unaffected
    now[0] = 60.5
    assert limiter.blocked_for("a") == 0
    limiter.failed("b")
    limiter.failed("c")  # a third address: the oldest is forgotten, memory stays bounded
    assert len(limiter._failures) <= 2


@pytest.mark.parametrize(
    "data, end",
    [(b"a\n\n", 3), (b"a\n\nb", 3), (b"abc", 0), (b"a\r\n\r\nb", 5), (b"", 0), (b"x\r\ry", 3), (b"a\n\nb\n\nc", 6)],
)
def test_last_event_end(data: bytes, end: int) -> None:
    from cc_proxy.server.wire_registry import _last_event_end

    assert _last_event_end(data) == end


@pytest.mark.parametrize(
    ("host", "token", "insecure", "refused"),
    [
        ("127.0.0.1", None, False, False),
        ("::1", None, False, False),
        ("[::1]", None, False, False),
        ("localhost", None, False, False),
        ("::ffff:127.0.0.1", None, False, False),  # a dual-stack listener's view of a local peer
        ("::ffff:192.168.1.20", None, False, True),
        ("0.0.0.0", None, False, True),
        ("::", None, False, True),
        ("192.168.1.20", None, False, True),
        ("0.0.0.0", "team-token", False, False),
        ("0.0.0.0", None, True, False),  # --insecure-no-auth: the explicit override (X2)
    ],
)
def test_bind_refusal(host: str, token: str | None, insecure: bool, refused: bool) -> None:
    """X2: only loopback listens without server.auth_token, unless --insecure-no-auth says so. The
    refusal itself is also checked end to end (test_auth_prefix, and on reload in
    reliability/test_x9_exposed_listener); the override is checked here."""
    reason = bind_refusal(host, token, insecure)
    assert (reason is not None) is refused
    if reason is not None:
        assert host in reason and "auth_token" in reason and "--insecure-no-auth" in reason


def test_breaker_half_open_lets_one_probe_through_and_a_failed_probe_doubles_the_ejection() -> None:
    from cc_proxy.server.breaker import Breaker

    now = [0.0]
    breaker = Breaker(threshold=2, base=10, cap=100, clock=lambda: now[0])
    breaker.failure("t")
    breaker.failure("t")
    assert not breaker.admit("t") and breaker.describe("t")["circuit"] == "open"
    now[0] = 10
    assert breaker.admit("t")  # the probe
    assert not breaker.admit("t") and breaker.ejected("t")  # the others wait for its verdict
    assert breaker.describe("t") == {"circuit": "half-open", "probing": True, "ejections": 1}
    breaker.failure("t")  # one failed probe is enough
    assert breaker.remaining("t") == 20 and breaker.describe("t")["circuit"] == "open"
    now[0] = 30
    assert breaker.admit("t")
    breaker.settled("t")  # a caller error: no verdict, the next request probes
    assert breaker.admit("t")
    now[0] = 41  # a probe that never reported is replaced after `base` seconds
    assert breaker.admit("t")
    breaker.success("t")
    assert breaker.admit("t") and breaker.describe("t") == {"circuit": "closed", "failures": 0}


def test_key_pools_pin_sessions_prefer_the_least_busy_and_rest_limited_keys() -> None:
    from cc_proxy.engine.profiles import BUILTIN_PROFILES
    from cc_proxy.engine.snapshot import ApiKey, ResolvedProvider
    from cc_proxy.server.key_pool import DEFAULT_REST, KeyPools

    keys = tuple(ApiKey("literal", f"sk-unit-{i}", position=i) for i in (1, 2, 3))
    provider = ResolvedProvider("p", "anthropic", "https://p.example", keys[0], {}, BUILTIN_PROFILES["anthropic"], keys)
    now = [0.0]
    pools = KeyPools(clock=lambda: now[0])

    def take(session: str | None) -> int:
        pick = pools.acquire(provider, session)
        assert pick is not None and pick.ready
        return pick.key.position

    assert [take("a"), take("b"), take("c")] == [1, 2, 3]  # one in flight each: spread
    for key in keys:
        pools.release(provider, key)
    assert take("a") == 1 and take(None) == 2  # the pin holds; a session-less request goes to the least busy
    pools.release(provider, keys[0])
    pools.release(provider, keys[1])
    assert pools.rate_limited(provider, keys[0], None) == DEFAULT_REST
    assert pools.rate_limited(provider, keys[0], None) == 2 * DEFAULT_REST  # growing while it keeps failing
    assert take("a") != 1  # resting: the session moves (and is pinned there)
    now[0] = 10
    pools.succeeded(provider, keys[0])
    assert pools.rate_limited(provider, keys[0], 0.5) == 0.5  # retry-after wins; the growth restarted
    assert pools.rejected(provider, keys[1]) and not pools.rejected(provider, keys[1])  # logged once
    report = pools.report([provider])["p"]
    assert [row["state"] for row in report] == ["resting", "removed", "ok"]


def test_status_shows_key_pools_by_position_and_half_open_circuits() -> None:
    from cc_proxy.server.commands.status import render_text

    health = {
        "config_file": "cc-proxy.json", "config_version": "abc", "reloads": 0, "reloads_rejected": 0,
        "last_reload_error": None, "status": "ok", "reasons": [], "providers": {},
        "targets": {"main": {"provider": "p", "model": "m", "circuit": "half-open", "probing": True, "ejections": 1}},
        "keys": {"p": [
            {"key": 1, "state": "ok", "in_flight": 2, "sessions": 5},
            {"key": 2, "state": "resting", "rest_s": 3.5, "in_flight": 0, "sessions": 4},
            {"key": 3, "state": "removed", "in_flight": 0, "sessions": 0},
        ]},
        "tool_repairs": 7,
    }  # fmt: skip
    report = {"version": "x", "pid": 1, "url": "http://x", "log_file": None, "started_at": 0, "health": health}
    text = render_text(report)
    assert "  target       main: p/m: circuit half-open, probe out\n" in text
    assert (
        "  keys         p: #1 ok (2 in flight, 5 sessions), #2 resting 3.5 s (0 in flight, 4 sessions), "
        "#3 removed (0 in flight, 0 sessions)\n"
    ) in text
    assert "  tool repairs 7\n" in text
