"""Errors for OpenAI clients: OpenAI's shape, statuses the openai SDK retries (or not) as it should, the
proxy's own token as Bearer, and failures after the stream started raised by the SDK."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from tests.fakes import Stream, anthropic_error, openai_error
from tests.fakes import anthropic_stream as A
from tests.server.conftest import CLIENT_KEY, Stack

HI: list[Any] = [{"role": "user", "content": "hi"}]


def sdk(stack: Stack, retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(base_url=stack.url + "/v1", api_key=CLIENT_KEY, max_retries=retries)


def test_the_sdk_retries_an_overloaded_upstream_and_gets_the_answer(stack: Stack) -> None:
    # The proxy's own retries are spent on the first two 529s (retries.max = 2 in this stack);
    # the third 529 reaches the client, whose SDK retries it as it does any 5xx.
    overloaded = anthropic_error(529, "overloaded_error", "Overloaded", retry_after="0")
    stack.fake.add("/v1/messages", overloaded, overloaded, overloaded, A.auto(A.message(A.text("at last"))))
    answer = sdk(stack, retries=1).chat.completions.create(model="sonnet", messages=HI)
    assert answer.choices[0].message.content == "at last"
    assert len(stack.fake.requests) == 4


def test_a_caller_error_is_not_retried_and_keeps_its_status(stack: Stack) -> None:
    stack.fake.always("/v1/messages", anthropic_error(400, "invalid_request_error", "prompt is too long"))
    with pytest.raises(openai.BadRequestError) as info:
        sdk(stack, retries=2).chat.completions.create(model="sonnet", messages=HI)
    assert info.value.body == {
        "message": "prompt is too long",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_request_error",
    }
    assert len(stack.fake.requests) == 1


def test_an_openai_format_upstreams_error_passes_as_it_sent_it(stack: Stack) -> None:
    limit = openai_error(400, "This model's maximum context length is 8192 tokens", code="context_length_exceeded")
    stack.fake.always("/v1/chat/completions", limit)
    with pytest.raises(openai.BadRequestError) as info:
        sdk(stack).chat.completions.create(model="gpt-4o", messages=HI)
    body: Any = info.value.body
    assert body["code"] == "context_length_exceeded" and body["type"] == "invalid_request_error"


def test_a_mid_stream_error_is_raised_by_the_sdk(stack: Stack) -> None:
    events = A.message_stream(A.message(A.text("Partial answer")))
    stack.fake.always("/v1/messages", Stream([*events[:4], A.error_event("overloaded_error", "Overloaded")]))
    with pytest.raises(openai.APIError, match="Overloaded"):
        for _ in sdk(stack).chat.completions.create(model="sonnet", messages=HI, stream=True):
            pass


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/responses"])
def test_malformed_json_is_a_400_in_openai_shape(stack: Stack, path: str) -> None:
    response = stack.post(path, b'{"model": "sonnet", "messages": [', {"authorization": f"Bearer {CLIENT_KEY}"})
    assert response.status_code == 400 and response.headers["x-should-retry"] == "false"
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and "not valid JSON" in error["message"]
    assert stack.fake.requests == []


def test_the_proxys_token_as_bearer(tmp_path: Any) -> None:
    """With server.auth_token set, only that token (as the OpenAI SDKs send it) gets in."""
    from tests.fakes.server import FakeUpstream
    from tests.server.conftest import start_proxy, write_stack_files

    with FakeUpstream() as fake:
        fake.always("/v1/messages", A.auto(A.message(A.text("ok"))))
        config = {
            "server": {"auth_token": "proxy-token-for-openai-clients-07"},
            "providers": {"a": {"format": "anthropic", "base_url": fake.url, "api_key": "sk-provider-key-0008"}},
            "models": {"sonnet": {"provider": "a", "model": "claude-x"}},
            "routes": {"default": "sonnet"},
        }
        proxy = start_proxy(write_stack_files(tmp_path, config, {}))
        try:
            good = openai.OpenAI(base_url=proxy.url + "/v1", api_key="proxy-token-for-openai-clients-07")
            assert good.chat.completions.create(model="sonnet", messages=HI).choices[0].message.content == "ok"
            bad = openai.OpenAI(base_url=proxy.url + "/v1", api_key="wrong-token", max_retries=0)
            with pytest.raises(openai.AuthenticationError) as info:
                bad.chat.completions.create(model="sonnet", messages=HI)
            assert set(info.value.body) == {"message", "type", "param", "code"}  # type: ignore[arg-type]
            models = httpx.get(proxy.url + "/v1/models", headers={"authorization": "Bearer wrong-token"})
            assert models.status_code == 401 and models.json()["error"]["type"] == "authentication_error"
        finally:
            proxy.stop()
        assert len(fake.requests) == 1
