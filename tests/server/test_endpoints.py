"""Headers, keys and the small endpoints: what reaches the upstream, what reaches the client."""

from __future__ import annotations

import httpx

from tests.fakes import anthropic_stream as A
from tests.fakes import openai_stream as O
from tests.server.conftest import (
    ANTHROPIC_KEY,
    CLIENT_KEY,
    COMPAT_KEY,
    OPENAI_KEY,
    Stack,
    assert_no_canary,
)

OK = {"model": "claude-x", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


def test_anthropic_gets_its_key_as_x_api_key_and_never_the_clients(stack: Stack) -> None:
    stack.fake.always("*", A.auto(A.message(A.text("ok"))))
    response = stack.post("/v1/messages", OK, {"authorization": f"Bearer {CLIENT_KEY}", "connection": "keep-alive"})
    assert response.status_code == 200
    sent = stack.fake.requests[0]
    assert sent.headers["x-api-key"] == ANTHROPIC_KEY
    assert "authorization" not in sent.headers
    assert CLIENT_KEY not in repr(sent.raw_headers) and CLIENT_KEY.encode() not in sent.body


def test_compatible_provider_gets_bearer_and_its_configured_headers(stack: Stack) -> None:
    stack.fake.always("*", A.auto(A.message(A.text("ok"))))
    response = stack.post("/v1/messages", {**OK, "model": "compat-x"}, {"anthropic-beta": "claude-code-20250219"})
    assert response.status_code == 200
    sent = stack.fake.requests[0]
    assert sent.path == "/compat/v1/messages"
    assert sent.headers["authorization"] == f"Bearer {COMPAT_KEY}"
    assert "x-api-key" not in sent.headers
    assert sent.headers["x-provider-extra"] == "extra-value"
    assert "anthropic-beta" not in sent.headers  # the compatible profile forwards no betas


def test_forward_provider_gets_the_clients_own_key(stack: Stack) -> None:
    stack.fake.always("*", A.auto(A.message(A.text("ok"))))
    response = stack.post("/v1/messages", {**OK, "model": "fwd-x"})
    assert response.status_code == 200
    assert stack.fake.requests[0].headers["x-api-key"] == CLIENT_KEY


def test_openai_provider_gets_bearer_and_a_translated_answer(stack: Stack) -> None:
    stack.fake.always("/v1/chat/completions", O.auto(content=["Hel", "lo"]))
    response = stack.post("/v1/messages", {**OK, "model": "gpt-4o"})
    assert response.status_code == 200, response.text
    sent = stack.fake.requests[0]
    assert sent.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert "anthropic-version" not in sent.headers
    assert sent.json["model"] == "gpt-test"
    answer = response.json()
    assert answer["type"] == "message" and answer["model"] == "gpt-4o"
    assert answer["content"] == [{"type": "text", "text": "Hello"}]
    assert response.headers["x-cc-proxy-target"] == "openai/gpt-test"
    assert response.headers["x-cc-proxy-rule"] == "to-openai"


def test_openai_stream_is_translated_to_anthropic_events(stack: Stack) -> None:
    stack.fake.always("/v1/chat/completions", O.auto(content=["Hel", "lo"]))
    response = stack.post("/v1/messages", {**OK, "model": "gpt-4o", "stream": True})
    assert response.status_code == 200
    events = [line[7:] for line in response.text.splitlines() if line.startswith("event: ")]
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert "content_block_delta" in events


def test_route_headers_on_every_response(stack: Stack) -> None:
    stack.fake.always("*", A.auto(A.message(A.text("ok"))))
    ok = stack.post("/v1/messages", {**OK, "model": "fb-1"})
    assert ok.headers["x-cc-proxy-route"] == "withFallback"
    assert ok.headers["x-cc-proxy-rule"] == "to-fallback"
    assert ok.headers["x-cc-proxy-target"] == "anthropic/claude-sonnet-4-5"
    bad = stack.post("/v1/messages", b"{")
    for response in (ok, bad):
        assert response.headers["x-cc-proxy-config-version"]
        assert response.headers["request-id"]
    assert bad.headers["x-cc-proxy-route"] == "-"


def test_models_lists_the_servable_aliases(stack: Stack) -> None:
    response = httpx.get(stack.url + "/v1/models", headers={"x-api-key": CLIENT_KEY})
    assert response.status_code == 200
    page = response.json()
    ids = [m["id"] for m in page["data"]]
    assert ids == ["sonnet", "backup", "gpt", "fwd", "dead"]  # `nokey` has no key: not servable
    assert page["first_id"] == "sonnet" and page["last_id"] == "dead" and page["has_more"] is False
    assert all(m["type"] == "model" and m["display_name"] and m["created_at"] for m in page["data"])


def test_model_by_id(stack: Stack) -> None:
    found = httpx.get(stack.url + "/v1/models/gpt", headers={"x-api-key": CLIENT_KEY})
    assert found.status_code == 200 and found.json()["id"] == "gpt" and found.json()["type"] == "model"
    missing = httpx.get(stack.url + "/v1/models/nokey", headers={"x-api-key": CLIENT_KEY})
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"


def test_health_and_root(stack: Stack) -> None:
    health = httpx.get(stack.url + "/health").json()
    # the stack's route noKeyThenBackup starts at a provider whose key variable is unset
    assert health["status"] == "degraded" and health["config_version"]
    assert health["reasons"] == [
        "route 'noKeyThenBackup': model 'nokey': provider 'nokey' has no API key "
        "(environment variable CC_TEST_UNSET_KEY is not set)"
    ]
    assert health["providers"]["nokey"]["configured"] is False and health["providers"]["anthropic"]["configured"]
    assert health["targets"]["sonnet"] == {
        "provider": "anthropic", "model": "claude-sonnet-4-5", "circuit": "disabled"
    }  # the shared stack runs with --eject-after 0
    assert health["config_file"].endswith("cc-proxy.json")
    assert health["rule_files"][0].endswith("test.json")
    assert health["last_reload_error"] is None
    assert httpx.get(stack.url + "/").status_code == 200
    assert httpx.head(stack.url + "/").status_code == 200


def test_unknown_path_is_an_anthropic_404(stack: Stack) -> None:
    response = httpx.post(stack.url + "/v2/whatever", content=b"{}")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found_error"


def test_no_secret_in_any_log_line(stack: Stack) -> None:
    stack.fake.always("*", A.auto(A.message(A.text("ok"))))
    stack.post("/v1/messages", OK)
    stack.post("/v1/messages", {**OK, "model": "compat-x"})
    stack.post("/v1/messages", {**OK, "model": "nokey"})
    log = stack.proxy.log()
    assert "request" in log
    assert_no_canary(log)
    assert CLIENT_KEY not in log


def test_log_lines_cannot_be_forged_through_request_fields(stack: Stack) -> None:
    stack.fake.always("*", A.auto(A.message(A.text("ok"))))
    forged = "x\n2026-01-01 ERROR forged\u001b[31m"
    stack.post("/v1/messages", {**OK, "model": forged})
    stack.post("/v1/messages", {**OK, "model": "nosuch," + forged})
    lines = stack.proxy.log().splitlines()
    assert not any(line.startswith("2026-01-01 ERROR forged") for line in lines)
    assert not any("\x1b" in line for line in lines)
    assert sum("ERROR forged" in line for line in lines) >= 2  # logged, escaped, on its own line
