"""The pre-translation step through the real server: what an OpenAI-format upstream receives for Claude
Code's real requests (engine.emulate), and what `explain` reports about it."""

from __future__ import annotations

import json
from typing import Any

import httpx

from cc_proxy.engine.emulate.context_edits import CLEARED_RESULT
from tests.conftest import ProxyFactory, claude_code_fixture
from tests.fakes import openai_stream as O
from tests.fakes.pdf import text_pdf_base64
from tests.fakes.responses import Json, Stream
from tests.fakes.server import FakeUpstream
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


# --- a proxy of its own: the `openai` profile (session id -> prompt_cache_key), a subagent route ---

OPENAI_CONFIG = {
    "providers": {
        "up": {"format": "openai", "base_url": "{fake}/v1", "api_key": "none", "profile": "openai"},
    },
    "models": {"main": {"provider": "up", "model": "gpt-main"}, "cheap": {"provider": "up", "model": "gpt-cheap"}},
    "routes": {"default": "main", "subagent": "cheap"},
}
EDITS = {"edits": [{"type": "clear_tool_uses_20250919", "trigger": {"type": "tool_uses", "value": 1},
                    "keep": {"type": "tool_uses", "value": 1}}]}


def _config(fake: FakeUpstream) -> dict[str, Any]:
    config = json.loads(json.dumps(OPENAI_CONFIG).replace("{fake}", fake.url))
    assert isinstance(config, dict)
    return config


def _tool_conversation() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"role": "user", "content": "go"}]
    for i in range(3):
        call = {"type": "tool_use", "id": f"toolu_{i}", "name": "Bash", "input": {"command": f"step {i}"}}
        out.append({"role": "assistant", "content": [call]})
        out.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"toolu_{i}",
                                                  "content": f"output of step {i}"}]})
    return out


def _body(stream: bool) -> dict[str, Any]:
    tools = [{"name": "Bash", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}]
    return {"model": "claude-opus-5-5", "max_tokens": 100, "stream": stream, "tools": tools,
            "messages": _tool_conversation(), "context_management": EDITS}


def test_context_edits_are_applied_and_reported_in_both_answer_forms(
    proxy_server: ProxyFactory, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.add("/v1/chat/completions", Json(O.chat_completion(content="done")))
    fake_upstream.add("/v1/chat/completions", Stream(O.chat_stream(content=["do", "ne"], finish_reason="stop")))
    proxy = proxy_server(_config(fake_upstream))
    headers = {"content-type": "application/json", "x-api-key": "k"}
    plain = httpx.post(proxy.url + "/v1/messages", json=_body(False), headers=headers, timeout=10)
    streamed = httpx.post(proxy.url + "/v1/messages", json=_body(True), headers=headers, timeout=10)
    assert plain.status_code == streamed.status_code == 200, plain.text
    applied = {"applied_edits": [{"type": "clear_tool_uses_20250919", "cleared_tool_uses": 2,
                                  "cleared_input_tokens": plain.json()["context_management"]["applied_edits"][0][
                                      "cleared_input_tokens"]}]}
    assert plain.json()["context_management"] == applied
    assert applied["applied_edits"][0]["cleared_input_tokens"] > 0
    deltas = [json.loads(line[6:]) for line in streamed.text.splitlines() if '"message_delta"' in line]
    assert deltas[0]["context_management"] == applied  # the stream reports it in message_delta
    for request in fake_upstream.requests:
        tool_messages = [m["content"] for m in request.json["messages"] if m["role"] == "tool"]
        assert tool_messages == [CLEARED_RESULT, CLEARED_RESULT, "output of step 2"]
        assert "context_management" not in request.json


def test_session_id_becomes_prompt_cache_key_and_subagents_take_their_route(
    proxy_server: ProxyFactory, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.always("/v1/chat/completions", Json(O.chat_completion(content="ok")))
    proxy = proxy_server(_config(fake_upstream))
    captured = json.loads(claude_code_fixture("subagent_turn.v2.1.332.request.json").read_text())
    sent_headers = {k: v for k, v in captured["headers"].items() if k not in ("host", "content-length")}
    subagent = httpx.post(proxy.url + "/v1/messages", json={**captured["body"], "stream": False},
                          headers=sent_headers, timeout=10)
    main_headers = {k: v for k, v in sent_headers.items() if k != "x-claude-code-agent-id"}
    main_body = json.loads(claude_code_fixture("say_hi.v2.1.332.body.json").read_text())
    main = httpx.post(proxy.url + "/v1/messages", json={**main_body, "stream": False}, headers=main_headers,
                      timeout=10)
    assert subagent.status_code == main.status_code == 200, subagent.text
    assert subagent.headers["x-cc-proxy-route"] == "subagent" and main.headers["x-cc-proxy-route"] == "default"
    first, second = (r.json for r in fake_upstream.requests)
    assert first["model"] == "gpt-cheap" and second["model"] == "gpt-main"
    session = captured["headers"]["x-claude-code-session-id"]
    assert first["prompt_cache_key"] == second["prompt_cache_key"] == session  # one cache key per session


def test_a_pdf_in_a_tool_result_reaches_a_files_less_upstream_as_extracted_text(
    proxy_server: ProxyFactory, fake_upstream: FakeUpstream
) -> None:
    """Claude Code's Read tool sends a PDF as a document inside tool_result; vllm takes no files."""
    fake_upstream.always("/v1/chat/completions", Json(O.chat_completion(content="99 EUR")))
    config = _config(fake_upstream)
    config["providers"]["up"]["profile"] = "vllm"
    proxy = proxy_server(config)
    document = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                               "data": text_pdf_base64("Invoice 42: total 99 EUR")}}
    body = {"model": "claude-opus-5-5", "max_tokens": 100, "messages": [
        {"role": "user", "content": "what is the total of invoice.pdf?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Read",
                                           "input": {"file_path": "invoice.pdf"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [document]}]},
    ]}
    answer = httpx.post(proxy.url + "/v1/messages", json=body, headers={"x-api-key": "k"}, timeout=10)
    assert answer.status_code == 200, answer.text
    tool_message = next(m for m in fake_upstream.requests[0].json["messages"] if m["role"] == "tool")
    assert "text extracted by cc-proxy" in tool_message["content"]
    assert "Invoice 42: total 99 EUR" in tool_message["content"]


def test_thinking_display_omitted_streams_signed_empty_thinking(stack: Stack) -> None:
    chunks = O.chat_stream(reasoning=["Let me ", "think."], content=["Hi."], finish_reason="stop")
    stack.fake.add("/v1/chat/completions", Stream(chunks))
    body = {"model": "gpt-4o", "max_tokens": 50, "stream": True, "thinking": {"type": "adaptive", "display": "omitted"},
            "messages": [{"role": "user", "content": "hi"}]}
    answer = stack.post("/v1/messages", body)
    assert answer.status_code == 200, answer.text
    payloads = [json.loads(line[6:]) for line in answer.text.splitlines() if line.startswith("data: ")]
    deltas = [p["delta"]["type"] for p in payloads if p["type"] == "content_block_delta"]
    assert "thinking_delta" not in deltas and deltas.count("signature_delta") == 1 and "text_delta" in deltas
    start = next(p for p in payloads if p["type"] == "content_block_start")
    assert start["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    assert "think." not in answer.text  # the reasoning travels only inside the (base64) signature


def test_context_edits_for_an_anthropic_compatible_upstream_are_reported_too(stack: Stack) -> None:
    from tests.fakes import anthropic_stream as A

    stack.fake.add("/compat/v1/messages", Json(A.message(A.text("done"))))
    stack.fake.add("/compat/v1/messages", Stream(A.message_stream(A.message(A.text("done")))))
    plain = stack.post("/v1/messages", {**_body(False), "model": "compat-x"})
    streamed = stack.post("/v1/messages", {**_body(True), "model": "compat-x"})
    assert plain.status_code == streamed.status_code == 200, plain.text
    applied = plain.json()["context_management"]["applied_edits"]
    assert [(e["type"], e["cleared_tool_uses"]) for e in applied] == [("clear_tool_uses_20250919", 2)]
    deltas = [json.loads(line[6:]) for line in streamed.text.splitlines() if '"message_delta"' in line]
    assert deltas[0]["context_management"] == {"applied_edits": applied}
    assert streamed.text.rstrip().endswith('"message_stop"}')
    for request in stack.fake.requests:
        assert "context_management" not in request.json
        user_blocks = [b for m in request.json["messages"] if m["role"] == "user" for b in m["content"]]
        results = [b["content"] for b in user_blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
        assert results == [CLEARED_RESULT, CLEARED_RESULT, "output of step 2"]
