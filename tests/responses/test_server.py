"""The real `anthropic` SDK against a real `cc-proxy serve` whose provider is `"format": "openai-responses"`,
in front of a fake Responses endpoint answering with SDK-built responses, over sockets on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import orjson
import pytest

from cc_proxy.server.wire_registry import wire_for
from tests.conftest import ProxyFactory, ProxyServer
from tests.fakes import openai_responses as R
from tests.fakes.responses import Json, openai_error
from tests.fakes.server import FakeUpstream

PROVIDER_KEY = "sk-openai-responses-canary-Zq81Lm"
CLIENT_KEY = "sk-ant-client-key-stays-here-0042"
MESSAGES: list[Any] = [{"role": "user", "content": "list the files"}]
TOOLS: list[Any] = [{"name": "Bash", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}]
ANSWER = R.response(
    [
        R.reasoning("rs_1", ["List them."], encrypted="gAAAAB-enc-1"),
        R.message("msg_1", "Listing."),
        R.function_call("fc_1", "call_1", "Bash", '{"command":"ls"}'),
    ],
    usage_=R.usage(1500, 40, cached=1024, reasoning=16),
)


@pytest.fixture
def proxy(proxy_server: ProxyFactory, fake_upstream: FakeUpstream) -> Iterator[ProxyServer]:
    config = {
        "providers": {
            "openai": {"format": "openai-responses", "base_url": f"{fake_upstream.url}/v1", "api_key": "${KEY}"}
        },
        "models": {"codex": {"provider": "openai", "model": "gpt-5-codex", "max_tokens": "16k"}},
        "routes": {"default": "codex"},
        "rules": ["builtin:default"],
    }
    yield proxy_server(config, env={"KEY": PROVIDER_KEY})


def _client(proxy: ProxyServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=CLIENT_KEY, base_url=proxy.url, max_retries=0)


def _check_sent(fake: FakeUpstream, *, stream: bool) -> dict[str, Any]:
    sent = fake.requests[-1]
    assert sent.path == "/v1/responses"
    assert sent.headers["authorization"] == f"Bearer {PROVIDER_KEY}"
    assert CLIENT_KEY not in str(sent.raw_headers)
    body: dict[str, Any] = sent.json
    assert body["model"] == "gpt-5-codex"
    assert body["store"] is False and body.get("stream", False) is stream
    assert body["max_output_tokens"] == 16000  # Claude Code-sized max_tokens clamped by builtin:default
    return body


def test_message_with_reasoning_and_a_call(proxy: ProxyServer, fake_upstream: FakeUpstream) -> None:
    fake_upstream.always("/v1/responses", R.auto(ANSWER))
    message = _client(proxy).messages.create(model="claude-x", max_tokens=20000, messages=MESSAGES, tools=TOOLS)
    _check_sent(fake_upstream, stream=False)
    assert [b.type for b in message.content] == ["thinking", "text", "tool_use"]
    assert message.content[0].thinking == "List them."  # type: ignore[union-attr]
    assert message.stop_reason == "tool_use"
    assert (message.usage.input_tokens, message.usage.cache_read_input_tokens) == (476, 1024)

    # The thinking block, sent back as Claude Code does, returns as the encrypted reasoning item.
    follow_up: list[Any] = [
        *MESSAGES,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in message.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "a.txt"}]},
    ]
    _client(proxy).messages.create(model="claude-x", max_tokens=20000, messages=follow_up, tools=TOOLS)
    items = _check_sent(fake_upstream, stream=False)["input"]
    assert [i["type"] for i in items] == ["message", "reasoning", "message", "function_call", "function_call_output"]
    assert items[1] == {
        "type": "reasoning",
        "id": "rs_1",
        "encrypted_content": "gAAAAB-enc-1",
        "summary": [{"type": "summary_text", "text": "List them."}],
    }


def test_stream(proxy: ProxyServer, fake_upstream: FakeUpstream) -> None:
    fake_upstream.always("/v1/responses", R.auto(ANSWER))
    with _client(proxy).messages.stream(model="claude-x", max_tokens=20000, messages=MESSAGES, tools=TOOLS) as s:
        final = s.get_final_message()
    _check_sent(fake_upstream, stream=True)
    assert [b.type for b in final.content] == ["thinking", "text", "tool_use"]
    assert final.content[2].input == {"command": "ls"}  # type: ignore[union-attr]
    assert final.stop_reason == "tool_use" and final.usage.output_tokens == 40


def test_json_answer_to_a_stream_request_is_replayed(proxy: ProxyServer, fake_upstream: FakeUpstream) -> None:
    fake_upstream.always("/v1/responses", Json(ANSWER.model_dump(mode="json", exclude_unset=True)))
    with _client(proxy).messages.stream(model="claude-x", max_tokens=20000, messages=MESSAGES, tools=TOOLS) as s:
        final = s.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text", "tool_use"]


@pytest.mark.parametrize(
    ("status", "error_type", "code"),
    [
        (429, "rate_limit_error", "rate_limit_exceeded"),
        (400, "invalid_request_error", None),
        (401, "authentication_error", None),
    ],
)
def test_upstream_errors_map_like_the_chat_path(
    proxy: ProxyServer, fake_upstream: FakeUpstream, status: int, error_type: str, code: str | None
) -> None:
    answer = openai_error(status, "upstream says no", code=code)
    fake_upstream.always("/v1/responses", answer)
    with pytest.raises(anthropic.APIStatusError) as info:
        _client(proxy).messages.create(model="claude-x", max_tokens=10, messages=MESSAGES)
    assert info.value.status_code == status
    body: Any = info.value.body
    assert body["error"]["type"] == error_type
    # exactly what the OpenAI Chat wire makes of the same upstream answer
    raw = orjson.dumps(answer.body)
    chat = wire_for("openai").error(status, raw, "application/json")
    assert wire_for("openai-responses").error(status, raw, "application/json") == chat
    assert orjson.loads(chat[1])["error"] == body["error"]
