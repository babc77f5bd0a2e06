"""The scripted OpenAI side of the e2e sessions is a stream the official OpenAI SDK accumulates to the
intended answer, and the Chat Completions validator accepts what that SDK sends and rejects broken bodies.
Both are checked here so the proxied test's verdicts rest on them."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from tests.e2e.chat_completions import chat_request_problems
from tests.e2e.conversations import EditSession
from tests.fakes.server import FakeUpstream

TOOLS: list[Any] = [
    {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}
    for name in ("Read", "Edit", "Bash")
]


def test_edit_session_streams_accumulate_with_openai_sdk(fake_upstream: FakeUpstream) -> None:
    session = EditSession(path="/w/notes.txt", old="TODO", new="DONE", command="echo built > build.log")
    fake_upstream.always("/v1/chat/completions", session)
    client = openai.OpenAI(base_url=fake_upstream.url + "/v1", api_key="sk-test", max_retries=0)
    messages: list[Any] = [{"role": "user", "content": "update the notes"}]
    turns = []
    for _ in range(3):
        with client.chat.completions.stream(model="deepseek-reasoner", messages=messages, tools=TOOLS) as stream:
            for _event in stream:
                pass
            completion = stream.get_final_completion()
        choice = completion.choices[0]
        calls = choice.message.tool_calls or []
        turns.append((choice.finish_reason, [(c.function.name, c.function.arguments) for c in calls]))
        assistant: dict[str, Any] = {"role": "assistant", "content": choice.message.content}
        if calls:
            assistant["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.function.name, "arguments": c.function.arguments},
                }
                for c in calls
            ]
        messages += [assistant, *({"role": "tool", "tool_call_id": c.id, "content": "ok"} for c in calls)]
    assert turns == [
        ("tool_calls", [("Read", '{"file_path": "/w/notes.txt"}')]),
        (
            "tool_calls",
            [
                ("Edit", '{"file_path": "/w/notes.txt", "old_string": "TODO", "new_string": "DONE"}'),
                ("Bash", '{"command": "echo built > build.log", "description": "Run the build"}'),
            ],
        ),
        ("stop", []),
    ]
    assert messages[-1]["content"] == session.final
    assert [chat_request_problems(r.json) for r in fake_upstream.requests] == [[], [], []]


CALL = {"id": "call_1", "type": "function", "function": {"name": "Read", "arguments": '{"file_path": "a"}'}}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"model": "m", "messages": [{"role": "user", "content": "hi"}], "system": "x"}, "unknown field 'system'"),
        ({"model": "m", "messages": []}, "no messages"),
        ({"model": "m", "messages": [{"role": "human", "content": "hi"}]}, "messages[0]: role 'human'"),
        (
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "tool_result", "content": "x"}]}]},
            "messages[0]: user content has parts that are not text/images",
        ),
        (
            {"model": "m", "messages": [{"role": "assistant", "content": None, "tool_calls": [CALL]}]},
            "tool calls ['call_1'] of the last assistant message were never answered",
        ),
        (
            {"model": "m", "messages": [{"role": "tool", "tool_call_id": "call_9", "content": "x"}]},
            "messages[0]: tool_call_id 'call_9' answers no pending tool call",
        ),
        (
            {
                "model": "m",
                "messages": [
                    {"role": "assistant", "content": None, "tool_calls": [{**CALL, "function": {"name": "Read"}}]},
                ],
            },
            "messages[0].tool_calls[0]: arguments are not a JSON string: None",
        ),
        (
            {"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": [{"name": "Read"}]},
            "tools[0]: not a function tool",
        ),
    ],
)
def test_validator_rejects(body: dict[str, Any], problem: str) -> None:
    assert problem in chat_request_problems(body)
