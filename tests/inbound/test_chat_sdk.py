"""The real `openai` SDK against cc-proxy's /v1/chat/completions, over real sockets, in front of an
Anthropic-format fake upstream (the request is normalised, the answer rendered back) and an
OpenAI-format one (the client's own request goes up, the answer comes back as it was)."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from pydantic import BaseModel

from tests.fakes import anthropic_stream as A
from tests.fakes import openai_stream as O
from tests.server.conftest import ANTHROPIC_KEY, CLIENT_KEY, OPENAI_KEY, Stack

TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]


def client(stack: Stack) -> openai.OpenAI:
    return openai.OpenAI(base_url=stack.url + "/v1", api_key=CLIENT_KEY, max_retries=0)


def test_text_answer_from_an_anthropic_upstream(stack: Stack) -> None:
    usage = {"input_tokens": 10, "output_tokens": 3, "cache_read_input_tokens": 5, "cache_creation_input_tokens": 2}
    stack.fake.always("/v1/messages", A.auto(A.message(A.text("Hello there"), usage=usage)))
    completion = client(stack).chat.completions.create(
        model="sonnet",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        max_completion_tokens=50,
        temperature=0.5,
        stop=["END"],
    )
    assert completion.choices[0].message.content == "Hello there"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.object == "chat.completion"
    assert completion.system_fingerprint is None
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (17, 3)
    assert completion.usage.prompt_tokens_details is not None
    assert completion.usage.prompt_tokens_details.cached_tokens == 5
    sent = stack.fake.requests[0]
    assert sent.path == "/v1/messages" and sent.headers["x-api-key"] == ANTHROPIC_KEY
    assert sent.json == {
        "model": "claude-sonnet-4-5",
        "system": [{"type": "text", "text": "Be brief."}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "max_tokens": 50,
        "temperature": 0.5,
        "stop_sequences": ["END"],
    }


def test_streamed_tool_call_then_a_tool_result_turn(stack: Stack) -> None:
    call = A.message(
        A.text("Checking."), A.tool_use("get_weather", {"city": "Paris"}, id="toolu_01A"), stop_reason="tool_use"
    )
    stack.fake.add("/v1/messages", A.auto(call), A.auto(A.message(A.text("Sunny in Paris."))))
    sdk = client(stack)
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
    with sdk.chat.completions.stream(model="sonnet", messages=messages, tools=TOOLS) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Checking."
    assert choice.message.tool_calls is not None
    tool_call = choice.message.tool_calls[0]
    assert tool_call.id == "toolu_01A" and tool_call.function.name == "get_weather"
    assert json.loads(tool_call.function.arguments) == {"city": "Paris"}

    messages.append(choice.message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": tool_call.id, "content": "sunny, 24C"})
    answer = sdk.chat.completions.create(model="sonnet", messages=messages, tools=TOOLS)
    assert answer.choices[0].message.content == "Sunny in Paris."
    second = stack.fake.requests[1].json
    assert second["tools"][0] == {
        "name": "get_weather",
        "input_schema": TOOLS[0]["function"]["parameters"],
        "description": "Weather for a city",
    }
    assert second["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris"}},
            ],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01A", "content": "sunny, 24C"}]},
    ]


def test_stream_with_usage_chunk(stack: Stack) -> None:
    stack.fake.always("/v1/messages", A.auto(A.message(A.text("Hi!"), usage={"input_tokens": 4, "output_tokens": 2})))
    chunks = list(
        client(stack).chat.completions.create(
            model="sonnet",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hi!"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (4, 2)
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")


class Weather(BaseModel):
    city: str
    celsius: int


def test_json_schema_output(stack: Stack) -> None:
    stack.fake.always("/v1/messages", A.auto(A.message(A.text('{"city": "Paris", "celsius": 24}'))))
    parsed = client(stack).chat.completions.parse(
        model="sonnet", messages=[{"role": "user", "content": "Paris weather as JSON"}], response_format=Weather
    )
    assert parsed.choices[0].message.parsed == Weather(city="Paris", celsius=24)
    output_format = stack.fake.requests[0].json["output_config"]["format"]
    assert output_format["type"] == "json_schema"
    assert output_format["schema"]["properties"]["celsius"] == {"title": "Celsius", "type": "integer"}


@pytest.mark.parametrize("stream", [False, True])
def test_openai_upstream_gets_the_clients_own_request(stack: Stack, stream: bool) -> None:
    stack.fake.always("/v1/chat/completions", O.auto(content=["Hel", "lo"]))
    body: dict[str, Any] = {
        "model": "gpt-4o",
        "messages": [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        "tools": TOOLS,
        "seed": 7,
        "logprobs": False,
        "response_format": {"type": "json_object"},
    }
    sdk = client(stack)
    if stream:
        chunks = list(sdk.chat.completions.create(**body, stream=True))
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello"
        assert {c.model for c in chunks} == {"gpt-4o"}
    else:
        completion = sdk.chat.completions.create(**body)
        assert completion.choices[0].message.content == "Hello"
        assert completion.model == "gpt-4o"
    sent = stack.fake.requests[0]
    assert sent.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    expected = {**body, "model": "gpt-test", **({"stream": True} if stream else {})}
    assert sent.json == expected


def test_errors_come_in_openai_shape_and_the_sdk_raises_them(stack: Stack) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client(stack).chat.completions.create(model="nokey-model", messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code in (404, 502)
    bad = stack.post(
        "/v1/chat/completions", {"model": "sonnet", "messages": "hi"}, {"authorization": f"Bearer {CLIENT_KEY}"}
    )
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and error["message"].startswith("messages:")
