"""Tool-call repair through the real server: an OpenAI-dialect upstream's broken tool arguments reach
the client as valid input (streamed as one input_json_delta at the block's end), counted in the log
and /health; with the profile's `repair_tool_calls` off, tool input streams as it arrives."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.conftest import ProxyFactory
from tests.fakes import openai_stream as O
from tests.fakes.server import FakeUpstream
from tests.reliability.conftest import wait_for_log

READ_SCHEMA = {
    "type": "object",
    "properties": {"file_path": {"type": "string"}, "offset": {"type": "integer"}, "limit": {"type": "integer"}},
    "required": ["file_path"],
    "additionalProperties": False,
}
# Split where a stream splits them: a MiniMax-style single-quoted object, an offset as a string.
FRAGMENTS = ["{'file_path': '/work/a.py',", " 'offset': '40'", ", 'limit': 20}"]
REPAIRED = {"file_path": "/work/a.py", "offset": 40, "limit": 20}


def config(url: str, repair: bool | None = None) -> dict[str, Any]:
    profile: Any = (
        "openai-compatible" if repair is None else {"extends": "openai-compatible", "repair_tool_calls": repair}
    )
    return {
        "providers": {
            "oa": {"format": "openai", "base_url": url + "/v1", "api_key": "sk-oa-Wd3Xq8Lp1Ne5", "profile": profile}
        },
        "models": {"weak": {"provider": "oa", "model": "weak-up"}},
        "routes": {"default": "weak"},
    }


def body(stream: bool) -> dict[str, Any]:
    return {
        "model": "claude-x",
        "max_tokens": 100,
        "stream": stream,
        "tools": [{"name": "Read", "description": "read a file", "input_schema": READ_SCHEMA}],
        "messages": [{"role": "user", "content": "read a.py"}],
    }


def answer() -> Any:
    return O.auto(content=["Reading", " it."], tool_calls=[O.ToolCall("call_1", "Read", FRAGMENTS)])


def sse_events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


def test_a_streamed_tool_call_is_held_and_sent_repaired_at_its_end(proxy_server: ProxyFactory) -> None:
    with FakeUpstream() as fake:
        fake.always("/v1/chat/completions", answer())
        proxy = proxy_server(config(fake.url))
        response = httpx.post(proxy.url + "/v1/messages", json=body(True), timeout=10)
    events = sse_events(response.text)
    text = [
        e["delta"]["text"] for e in events if e["type"] == "content_block_delta" and e["delta"]["type"] == "text_delta"
    ]
    assert text == ["Reading", " it."]  # text still streams piece by piece
    deltas = [e for e in events if e["type"] == "content_block_delta" and e["delta"]["type"] == "input_json_delta"]
    assert len(deltas) == 1
    assert json.loads(deltas[0]["delta"]["partial_json"]) == REPAIRED
    tool_index = next(
        e["index"] for e in events if e["type"] == "content_block_start" and e["content_block"]["type"] == "tool_use"
    )
    stop_at = next(i for i, e in enumerate(events) if e["type"] == "content_block_stop" and e["index"] == tool_index)
    assert events[stop_at - 1] is deltas[0]  # the whole input, just before its block's stop
    [line] = wait_for_log(proxy, lambda e: e.get("event") == "request")
    assert line["tool_repairs"] == 1
    assert httpx.get(proxy.url + "/health").json()["tool_repairs"] == 1


def test_a_whole_answer_gets_the_repaired_input(proxy_server: ProxyFactory) -> None:
    with FakeUpstream() as fake:
        fake.always("/v1/chat/completions", answer())
        proxy = proxy_server(config(fake.url))
        response = httpx.post(proxy.url + "/v1/messages", json=body(False), timeout=10)
    [tool] = [b for b in response.json()["content"] if b["type"] == "tool_use"]
    assert tool["input"] == REPAIRED


def test_with_repair_off_tool_input_streams_as_it_arrives(proxy_server: ProxyFactory) -> None:
    with FakeUpstream() as fake:
        fake.always("/v1/chat/completions", answer())
        proxy = proxy_server(config(fake.url, repair=False))
        streamed = httpx.post(proxy.url + "/v1/messages", json=body(True), timeout=10)
        whole = httpx.post(proxy.url + "/v1/messages", json=body(False), timeout=10)
    deltas = [
        e["delta"]["partial_json"]
        for e in sse_events(streamed.text)
        if e["type"] == "content_block_delta" and e["delta"]["type"] == "input_json_delta"
    ]
    assert "".join(deltas) == "".join(FRAGMENTS) and len(deltas) >= len(FRAGMENTS)
    [tool] = [b for b in whole.json()["content"] if b["type"] == "tool_use"]
    assert tool["input"] == {"_raw_arguments": "".join(FRAGMENTS)}
    lines = wait_for_log(proxy, lambda e: e.get("event") == "request" and e.get("stream") is True)
    assert lines and "tool_repairs" not in lines[0]
