"""The pre-translation step through the real server: what an OpenAI-format upstream receives for Claude
Code's real requests (engine.emulate), and what `explain` reports about it."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import claude_code_fixture
from tests.fakes import openai_stream as O
from tests.fakes.responses import Json
from tests.server.conftest import Stack


def _fixture() -> dict[str, Any]:
    path = claude_code_fixture("toolsearch_tool_reference_followup.v2.1.332.body.json")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _tool_names(body: dict[str, Any]) -> list[str]:
    return [tool["function"]["name"] for tool in body.get("tools", [])]


def test_deferred_tools_are_hidden_from_an_openai_upstream_until_loaded(stack: Stack) -> None:
    request = _fixture()
    stack.fake.add("/v1/chat/completions", Json(O.chat_completion(content="fetched")))
    answer = stack.post("/v1/messages", {**request, "model": "gpt-4o", "stream": False})
    assert answer.status_code == 200, answer.text
    sent = stack.fake.wait_for_requests(1)[0].json
    names = _tool_names(sent)
    assert "DeferredToolPlaceholder" not in names  # deferred, never loaded
    assert "WebFetch" in names and "ToolSearch" in names  # loaded by the tool_reference; search stays
    assert len(names) == len(request["tools"]) - 1
    results = [m for m in sent["messages"] if m["role"] == "tool"]
    assert results[0]["content"] == "Tool WebFetch is loaded: it can be called now."


def test_anthropic_upstream_gets_deferred_tools_as_sent(stack: Stack) -> None:
    request = _fixture()
    stack.fake.add("/v1/messages", Json({"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
                                         "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn",
                                         "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}))
    answer = stack.post("/v1/messages", {**request, "stream": False})
    assert answer.status_code == 200, answer.text
    sent = stack.fake.wait_for_requests(1)[0].json
    assert sent["tools"] == request["tools"]  # the API does tool search itself
    assert sent["messages"] == request["messages"]
