"""A real `cc-proxy serve` in front of a Gemini-format fake, driven by the real anthropic SDK: the URL
and key header Google's API takes, streams and whole answers, thought signatures carried through the
client, Gemini errors in Anthropic's shape, and RetryInfo's wait honoured."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from tests.conftest import ProxyFactory, ProxyServer
from tests.fakes import FakeUpstream, Stream
from tests.fakes import gemini as G

GEMINI_KEY = "AIzaSyCanary-gemini-key-Tq8Wz3Lm5Rv1"
CLIENT_KEY = "sk-client-own-key-gemini-test-0001"
SIGNATURE = base64.b64encode(b"gemini thought state for Read").decode()
TOOLS = [{"name": "Read", "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}}}}]
MESSAGES: list[dict[str, Any]] = [{"role": "user", "content": "read a.py"}]


def gemini_config(url: str) -> dict[str, Any]:
    return {
        "server": {"retries": {"max": 2, "base": 0.01, "cap": 0.05}},
        "providers": {"google": {"format": "gemini", "base_url": url, "api_key": "${GEMINI_API_KEY}"}},
        "models": {"flash": {"provider": "google", "model": "gemini-2.5-flash", "max_tokens": "8k"}},
        "routes": {"default": "flash"},
    }


@pytest.fixture
def proxy(proxy_server: ProxyFactory, fake_upstream: FakeUpstream) -> Iterator[ProxyServer]:
    server = proxy_server(gemini_config(fake_upstream.url), env={"GEMINI_API_KEY": GEMINI_KEY})
    yield server
    log = server.log_path.read_text(errors="replace")
    assert GEMINI_KEY not in log  # never in a log line, whatever the test did


def _client(proxy: ProxyServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=proxy.url, api_key=CLIENT_KEY, max_retries=0)


def test_stream_and_the_signature_round_trip(proxy: ProxyServer, fake_upstream: FakeUpstream) -> None:
    first = G.response(
        G.thought("Read it."), G.text("Reading."), G.call("Read", {"file_path": "a.py"}, signature=SIGNATURE)
    )
    fake_upstream.add("*", G.auto(first), G.auto(G.response(G.text("It prints hi."))))
    client = _client(proxy)
    with client.messages.stream(model="my-model", max_tokens=64000, messages=MESSAGES, tools=TOOLS) as stream:
        reply = stream.get_final_message()
    assert [b.type for b in reply.content] == ["thinking", "text", "tool_use"]
    assert reply.stop_reason == "tool_use" and reply.model == "my-model"
    call = reply.content[2]
    assert call.type == "tool_use" and call.input == {"file_path": "a.py"}

    follow = [
        *MESSAGES,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in reply.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "print('hi')"}]},
    ]
    final = client.messages.create(model="my-model", max_tokens=100, messages=follow, tools=TOOLS)
    assert final.content[0].type == "text" and final.content[0].text == "It prints hi."

    sent, second = fake_upstream.requests
    assert (sent.path, sent.query) == ("/v1beta/models/gemini-2.5-flash:streamGenerateContent", "alt=sse")
    assert (second.path, second.query) == ("/v1beta/models/gemini-2.5-flash:generateContent", "")
    for request in (sent, second):
        assert request.headers["x-goog-api-key"] == GEMINI_KEY
        assert "authorization" not in request.headers and "x-api-key" not in request.headers
        assert CLIENT_KEY not in str(request.raw_headers) and GEMINI_KEY not in request.query
    assert sent.json["generationConfig"]["maxOutputTokens"] == 8000
    model_turn = second.json["contents"][1]
    assert model_turn["role"] == "model"
    assert {
        "functionCall": {"name": "Read", "args": {"file_path": "a.py"}},
        "thoughtSignature": SIGNATURE,
    } in model_turn["parts"]
    assert second.json["contents"][2]["parts"] == [
        {"functionResponse": {"name": "Read", "response": {"output": "print('hi')"}}}
    ]


def test_gemini_errors_reach_the_client_in_anthropic_shape(proxy: ProxyServer, fake_upstream: FakeUpstream) -> None:
    fake_upstream.add("*", G.error(400, "Invalid JSON payload received. Unknown name \"const\" at 'tools[0]'"))
    client = _client(proxy)
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model="m", max_tokens=10, messages=MESSAGES)
    assert caught.value.body == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "Invalid JSON payload received. Unknown name \"const\" at 'tools[0]'",
        },
    }


def test_retry_info_is_honoured(proxy: ProxyServer, fake_upstream: FakeUpstream) -> None:
    """A wait the proxy may take is retried after it; a longer one goes to the client as retry-after."""
    fake_upstream.add(
        "*", G.error(429, "Quota exceeded. Please retry in 0.2s.", retry_delay="0.2s"), G.auto(G.response(G.text("ok")))
    )
    client = _client(proxy)
    reply = client.messages.create(model="m", max_tokens=10, messages=MESSAGES)
    assert reply.content[0].type == "text" and reply.content[0].text == "ok"
    assert len(fake_upstream.requests) == 2
    gap = fake_upstream.requests[1].received_at - fake_upstream.requests[0].received_at
    assert gap >= 0.2  # the wait Gemini asked for (a lower bound, not a timing assertion on speed)

    fake_upstream.add("*", G.error(429, "Quota exceeded for the day.", retry_delay="3600s"))
    with pytest.raises(anthropic.RateLimitError) as caught:
        client.messages.create(model="m", max_tokens=10, messages=MESSAGES)
    assert caught.value.response.headers["retry-after"] == "3600"
    assert caught.value.response.headers["retry-after-ms"] == "3600000"
    assert caught.value.body["error"]["type"] == "rate_limit_error"
    assert len(fake_upstream.requests) == 3  # not retried: longer than the proxy waits


def test_a_blocked_prompt_first_in_a_stream_is_an_http_error(proxy: ProxyServer, fake_upstream: FakeUpstream) -> None:
    blocked = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 3}}
    fake_upstream.add("*", Stream(G.encode([blocked])))
    client = _client(proxy)
    with (
        pytest.raises(anthropic.BadRequestError) as caught,
        client.messages.stream(model="m", max_tokens=10, messages=MESSAGES) as stream,
    ):
        stream.get_final_message()
    assert "blocked the prompt (SAFETY)" in caught.value.body["error"]["message"]


def test_vertex_profile_sends_a_bearer_token_under_its_base_url(
    proxy_server: ProxyFactory, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    base = fake_upstream.url + "/v1/projects/my-project/locations/us-central1/publishers/google"
    config = {
        "providers": {
            "vertex": {"format": "gemini", "base_url": base, "api_key": "${VERTEX_TOKEN}", "profile": "gemini-vertex"}
        },
        "models": {"pro": {"provider": "vertex", "model": "gemini-2.5-pro"}},
        "routes": {"default": "pro"},
    }
    proxy = proxy_server(config, env={"VERTEX_TOKEN": "ya29.vertex-canary-token"})
    fake_upstream.add("*", G.auto(G.response(G.text("from vertex"))))
    reply = _client(proxy).messages.create(model="m", max_tokens=10, messages=MESSAGES)
    assert reply.content[0].type == "text" and reply.content[0].text == "from vertex"
    sent = fake_upstream.requests[0]
    assert (
        sent.path
        == "/v1/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.5-pro:generateContent"
    )
    assert sent.headers["authorization"] == "Bearer ya29.vertex-canary-token"
    assert "x-goog-api-key" not in sent.headers


def test_a_stream_cut_before_its_finish_reason_cuts_the_client(proxy: ProxyServer, fake_upstream: FakeUpstream) -> None:
    """Reliability U12 on the Gemini wire: no finishReason, then the upstream closes: the client's
    connection breaks the same way (no invented message_stop or error event), so Claude Code retries."""
    events = G.stream_payloads(G.response(G.text("Half an answer, then the connection drops.")))
    events[-1]["candidates"][0].pop("finishReason")
    fake_upstream.add("*", Stream(G.encode(events), end="fin"))
    received = bytearray()
    body = {"model": "m", "max_tokens": 10, "stream": True, "messages": MESSAGES}
    headers = {"content-type": "application/json", "x-api-key": CLIENT_KEY}
    with (
        httpx.Client(timeout=10) as client,
        client.stream("POST", proxy.url + "/v1/messages", json=body, headers=headers) as response,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        for piece in response.iter_raw():
            received += piece
    assert response.status_code == 200
    text = received.decode()
    assert "event: content_block_delta" in text
    assert "event: message_stop" not in text and "event: error" not in text
