"""The real `openai` SDK's Responses client against cc-proxy's /v1/responses, over real sockets: an
Anthropic-format fake upstream (normalised request, rendered answer and event stream) and an
OpenAI-format one (the engine's form translated to Chat Completions, its answer rendered back)."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from pydantic import BaseModel

from tests.fakes import anthropic_stream as A
from tests.fakes import openai_stream as O
from tests.server.conftest import CLIENT_KEY, OPENAI_KEY, Stack

TOOLS: list[Any] = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        "strict": False,
    }
]


def client(stack: Stack) -> openai.OpenAI:
    return openai.OpenAI(base_url=stack.url + "/v1", api_key=CLIENT_KEY, max_retries=0)


def test_text_answer_with_instructions(stack: Stack) -> None:
    usage = {"input_tokens": 10, "output_tokens": 4, "cache_read_input_tokens": 6, "cache_creation_input_tokens": 0}
    stack.fake.always("/v1/messages", A.auto(A.message(A.text("Hello!"), usage=usage)))
    answer = client(stack).responses.create(
        model="sonnet", instructions="Be brief.", input="hi", max_output_tokens=64, temperature=0.3
    )
    assert answer.output_text == "Hello!"
    assert answer.status == "completed" and answer.id.startswith("resp_")
    assert answer.usage is not None
    assert (answer.usage.input_tokens, answer.usage.output_tokens, answer.usage.total_tokens) == (16, 4, 20)
    assert answer.usage.input_tokens_details.cached_tokens == 6
    assert stack.fake.requests[0].json == {
        "model": "claude-sonnet-4-5",
        "system": [{"type": "text", "text": "Be brief."}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "max_tokens": 64,
        "temperature": 0.3,
    }


def test_streamed_tool_call_then_its_output(stack: Stack) -> None:
    call = A.message(
        A.thinking("Need the weather."),
        A.tool_use("get_weather", {"city": "Paris"}, id="toolu_01R"),
        stop_reason="tool_use",
    )
    stack.fake.add("/v1/messages", A.auto(call), A.auto(A.message(A.text("Sunny."))))
    sdk = client(stack)
    with sdk.responses.stream(model="sonnet", input="Weather in Paris?", tools=TOOLS, reasoning={"effort": "low"}) as s:
        events = [event.type for event in s]
        first = s.get_final_response()
    assert events[:2] == ["response.created", "response.in_progress"] and events[-1] == "response.completed"
    assert "response.function_call_arguments.delta" in events
    reasoning, function_call = first.output
    assert reasoning.type == "reasoning" and function_call.type == "function_call"
    assert function_call.call_id == "toolu_01R" and json.loads(function_call.arguments) == {"city": "Paris"}
    assert stack.fake.requests[0].json["thinking"] == {"type": "enabled", "budget_tokens": 2048}

    # Codex's way: no stored state, the whole conversation with the reasoning item handed back
    items = [{"role": "user", "content": "Weather in Paris?"}, *[i.model_dump(exclude_none=True) for i in first.output]]
    items.append({"type": "function_call_output", "call_id": "toolu_01R", "output": "sunny, 24C"})
    second = sdk.responses.create(model="sonnet", input=items, tools=TOOLS, reasoning={"effort": "low"})
    assert second.output_text == "Sunny."
    turns = stack.fake.requests[1].json["messages"]
    assert turns[1] == {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "Need the weather.", "signature": A.thinking("x")["signature"]},
            {"type": "tool_use", "id": "toolu_01R", "name": "get_weather", "input": {"city": "Paris"}},
        ],
    }
    assert turns[2] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_01R", "content": "sunny, 24C"}],
    }


class Weather(BaseModel):
    city: str
    celsius: int


def test_json_schema_output(stack: Stack) -> None:
    stack.fake.always("/v1/messages", A.auto(A.message(A.text('{"city": "Oslo", "celsius": -3}'))))
    parsed = client(stack).responses.parse(model="sonnet", input="Oslo weather", text_format=Weather)
    assert parsed.output_parsed == Weather(city="Oslo", celsius=-3)
    output_format = stack.fake.requests[0].json["output_config"]["format"]
    assert output_format["type"] == "json_schema" and "celsius" in output_format["schema"]["properties"]


@pytest.mark.parametrize("stream", [False, True])
def test_openai_format_upstream(stack: Stack, stream: bool) -> None:
    tool_call = O.ToolCall("call_9", "get_weather", ['{"city":', '"Rome"}'])
    stack.fake.always("/v1/chat/completions", O.auto(content=["Let me ", "check."], tool_calls=[tool_call]))
    sdk = client(stack)
    if stream:
        with sdk.responses.stream(model="gpt-4o", input="Weather in Rome?", tools=TOOLS) as s:
            for _ in s:
                pass
            answer = s.get_final_response()
    else:
        answer = sdk.responses.create(model="gpt-4o", input="Weather in Rome?", tools=TOOLS)
    message, call = answer.output
    assert message.type == "message" and answer.output_text == "Let me check."
    assert call.type == "function_call" and call.call_id == "call_9"
    assert json.loads(call.arguments) == {"city": "Rome"}
    sent = stack.fake.requests[0]
    assert sent.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert sent.json["model"] == "gpt-test"
    assert sent.json["messages"] == [{"role": "user", "content": "Weather in Rome?"}]
    assert sent.json["tools"][0]["function"]["name"] == "get_weather"


def test_previous_response_id_is_refused_in_openai_shape(stack: Stack) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client(stack).responses.create(model="sonnet", input="again", previous_response_id="resp_1")
    body: Any = info.value.body
    assert body["param"] is None and "store is not emulated" in body["message"]
    assert stack.fake.requests == []


def test_mid_stream_error_reaches_the_sdk(stack: Stack) -> None:
    from tests.fakes import Stream

    events = A.message_stream(A.message(A.text("Partial answer")))
    cut = [*events[:4], A.error_event("overloaded_error", "Overloaded")]
    stack.fake.always("/v1/messages", Stream(cut))
    with client(stack).responses.stream(model="sonnet", input="hi") as s:
        kinds = [event.type for event in s]
    assert kinds[-2:] == ["error", "response.failed"]
