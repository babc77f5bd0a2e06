"""The real `anthropic` SDK against a real `cc-proxy serve`, in front of a scripted Anthropic fake."""

from __future__ import annotations

import anthropic
import pytest

from tests.fakes import anthropic_stream as A
from tests.fakes.responses import anthropic_error
from tests.server.conftest import ANTHROPIC_KEY, CLIENT_KEY, Stack

MESSAGES = [{"role": "user", "content": "say hi"}]


def test_create_returns_the_upstream_message_with_the_requested_model(stack: Stack) -> None:
    stack.fake.add("/v1/messages", A.auto(A.message(A.text("Hello there"), model="claude-sonnet-4-5")))
    client = stack.anthropic()
    raw = client.messages.with_raw_response.create(model="my-model", max_tokens=64, messages=MESSAGES)
    message = raw.parse()
    assert message.content[0].type == "text" and message.content[0].text == "Hello there"
    assert message.model == "my-model"  # server.response_model "requested"
    assert raw.headers["x-cc-proxy-route"] == "default"
    assert raw.headers["x-cc-proxy-target"] == "anthropic/claude-sonnet-4-5"
    assert raw.headers["x-cc-proxy-rule"] == "-"
    assert raw.headers["x-cc-proxy-config-version"]
    sent = stack.fake.requests[0]
    assert sent.json["model"] == "claude-sonnet-4-5"
    assert sent.headers["x-api-key"] == ANTHROPIC_KEY
    assert CLIENT_KEY not in str(sent.raw_headers)


def test_stream_and_get_final_message(stack: Stack) -> None:
    msg = A.message(A.thinking("Plan."), A.text("Hello streaming world"), model="claude-sonnet-4-5")
    stack.fake.add("/v1/messages", A.auto(msg))
    client = stack.anthropic()
    with client.messages.stream(model="claude-opus-x", max_tokens=64, messages=MESSAGES) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(texts) == "Hello streaming world"
    assert final.model == "claude-opus-x"
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.stop_reason == "end_turn"
    assert stack.fake.requests[0].json["stream"] is True


def test_tool_use_round_trip(stack: Stack) -> None:
    first = A.message(A.text("Reading."), A.tool_use("Read", {"file_path": "a.py"}, id="toolu_01Abc"))
    second = A.message(A.text("It prints hi."))
    stack.fake.add("/v1/messages", *A.messages_sequence(first, second))
    client = stack.anthropic()
    tools = [{"name": "Read", "description": "read a file", "input_schema": {"type": "object"}}]
    reply = client.messages.create(model="m", max_tokens=64, messages=MESSAGES, tools=tools)
    tool_use = reply.content[1]
    assert tool_use.type == "tool_use" and tool_use.input == {"file_path": "a.py"}
    follow = [
        *MESSAGES,
        {"role": "assistant", "content": [b.model_dump() for b in reply.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "print('hi')"}]},
    ]
    final = client.messages.create(model="m", max_tokens=64, messages=follow, tools=tools)
    assert final.content[0].text == "It prints hi."
    assert stack.fake.requests[1].json["messages"][2]["content"][0]["tool_use_id"] == "toolu_01Abc"


def test_count_tokens_is_the_local_estimate(stack: Stack) -> None:
    client = stack.anthropic()
    small = client.messages.count_tokens(model="m", messages=MESSAGES)
    large = client.messages.count_tokens(model="m", messages=[{"role": "user", "content": "word " * 2000}])
    assert 0 < small.input_tokens < large.input_tokens
    assert stack.fake.requests == []  # local: the upstream is never asked


def test_bad_input_is_a_bad_request_error_without_an_upstream_call(stack: Stack) -> None:
    client = stack.anthropic()
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model="m", max_tokens=10, messages=[{"role": "user", "content": 5}])  # type: ignore[list-item,misc,typeddict-item]
    assert "messages.0.content" in str(caught.value)
    assert stack.fake.requests == []


def test_sdk_retries_after_529_and_the_proxy_retries_first(stack: Stack) -> None:
    overloaded = anthropic_error(529, "overloaded_error", "Overloaded")
    stack.fake.add("/v1/messages", overloaded, overloaded, A.auto(A.message(A.text("finally"))))
    client = stack.anthropic()
    reply = client.messages.create(model="m", max_tokens=64, messages=MESSAGES)
    assert reply.content[0].text == "finally"
    assert len(stack.fake.requests) == 3  # two proxy retries (retries.max = 2), then success


def test_529_after_retries_reaches_the_sdk_as_529(stack: Stack) -> None:
    stack.fake.always("/v1/messages", anthropic_error(529, "overloaded_error", "Overloaded"))
    client = stack.anthropic()
    with pytest.raises(anthropic.APIStatusError) as caught:
        client.messages.create(model="m", max_tokens=64, messages=MESSAGES)
    assert caught.value.status_code == 529
    assert caught.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
    assert len(stack.fake.requests) == 3


def test_sdk_own_retries_hit_the_proxy(stack: Stack) -> None:
    """With the SDK's default retries on, a persistent 529 costs (1 + 2 SDK) x (1 + 2 proxy) attempts."""
    stack.fake.always("/v1/messages", anthropic_error(529, "overloaded_error", "Overloaded", retry_after="0"))
    client = anthropic.Anthropic(base_url=stack.url, api_key=CLIENT_KEY, max_retries=2)
    with pytest.raises(anthropic.APIStatusError):
        client.messages.create(model="m", max_tokens=64, messages=MESSAGES)
    assert len(stack.fake.requests) == 9
