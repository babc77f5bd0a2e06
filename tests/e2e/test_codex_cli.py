"""The real Codex CLI through cc-proxy's /v1/responses to a scripted Anthropic-format upstream: Codex's
request is normalised (instructions, developer messages, its tools, `exec_command` as the shell), the
model's tool call streams back as Responses events, Codex runs the shell command (the file on disk
proves it), sends the output back as a function_call_output, and the final answer ends the session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import ProxyFactory
from tests.e2e.codex_cli import CODEX_CLIENT_KEY, run_codex
from tests.fakes.anthropic_stream import message, message_stream, text, tool_use
from tests.fakes.responses import Response, Stream
from tests.fakes.server import FakeUpstream, RecordedRequest

PROVIDER_KEY = "sk-ant-provider-key-for-codex-0003"
CALL_ID = "toolu_01CodexExecCall000001"
FINAL = "Wrote the file."


def exec_session(command: str) -> Any:
    """First turn: run `command` with Codex's `exec_command`; once its output is back: FINAL."""

    def respond(req: RecordedRequest) -> Response:
        body = req.json
        turns = body.get("messages") or []
        results = [
            b
            for m in turns
            if m["role"] == "user" and isinstance(m["content"], list)
            for b in m["content"]
            if b.get("type") == "tool_result" and b.get("tool_use_id") == CALL_ID
        ]
        if results:
            return Stream(message_stream(message(text(FINAL), model=body["model"])))
        call = tool_use("exec_command", {"cmd": command}, id=CALL_ID)
        answer = message(text("Writing it."), call, model=body["model"], stop_reason="tool_use")
        return Stream(message_stream(answer))

    return respond


def test_codex_runs_a_shell_command_through_the_proxy(
    proxy_server: ProxyFactory, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    marker = tmp_path / "work" / "codex-marker.txt"
    fake_upstream.always("/v1/messages", exec_session(f"echo written-by-codex > {marker}"))
    config = {
        "server": {"auth_token": "${PROXY_TOKEN}"},
        "providers": {"fake": {"format": "anthropic", "base_url": fake_upstream.url, "api_key": "${FAKE_KEY}"}},
        "models": {"codex-main": {"provider": "fake", "model": "claude-fake-1"}},
        "routes": {"default": "codex-main"},
    }
    proxy = proxy_server(config, env={"FAKE_KEY": PROVIDER_KEY, "PROXY_TOKEN": CODEX_CLIENT_KEY})

    run = run_codex("write the marker file", base_url=proxy.url, model="codex-main", scratch=tmp_path)

    run.assert_ok()
    assert marker.read_text() == "written-by-codex\n", run.describe()
    messages = [e for e in run.events if e.get("type") == "item.completed" and e["item"].get("type") == "agent_message"]
    assert messages and messages[-1]["item"]["text"] == FINAL, run.describe()

    turns = [r for r in fake_upstream.requests if r.path == "/v1/messages"]
    assert len(turns) == 2, [r.path for r in fake_upstream.requests]
    for request in turns:
        assert request.headers["x-api-key"] == PROVIDER_KEY
        assert CODEX_CLIENT_KEY not in " ".join(value for _, value in request.raw_headers)
        body = request.json
        assert body["model"] == "claude-fake-1" and body["stream"] is True
        assert body["system"][0]["text"].startswith("You are a coding agent running in the Codex CLI")
        names = {t["name"] for t in body["tools"]}
        assert "exec_command" in names
        assert "multi_agent_v1__spawn_agent" in names  # a namespace's functions, flattened
        assert "web_search" not in names  # no equivalent on this target: dropped (and logged)
    second = turns[1].json["messages"]
    assert second[-2]["content"][-1] == {
        "type": "tool_use",
        "id": CALL_ID,
        "name": "exec_command",
        "input": {"cmd": f"echo written-by-codex > {marker}"},
    }
    result = second[-1]["content"][0]
    assert result["type"] == "tool_result" and result["tool_use_id"] == CALL_ID
    assert "dropped" in proxy.log() and "web_search" in proxy.log()


def native_exec_session(command: str) -> Any:
    """The same session from an `openai-responses` upstream: Responses events straight through."""
    from tests.fakes import openai_responses as R

    def respond(req: RecordedRequest) -> Response:
        items = req.json.get("input") or []
        if any(i.get("type") == "function_call_output" and i.get("call_id") == "call_codex_1" for i in items):
            answer = R.response([R.message("msg_2", FINAL)])
        else:
            call = R.function_call("fc_1", "call_codex_1", "exec_command", json.dumps({"cmd": command}))
            answer = R.response([R.reasoning("rs_1", ["Run it."], encrypted="enc-upstream-own"), call])
        return R.answer_for(req, answer)

    return respond


def test_codex_through_the_proxy_to_a_responses_upstream_gets_its_own_request_through(
    proxy_server: ProxyFactory, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    marker = tmp_path / "work" / "codex-native.txt"
    fake_upstream.always("/v1/responses", native_exec_session(f"echo native > {marker}"))
    config = {
        "providers": {
            "oai": {"format": "openai-responses", "base_url": f"{fake_upstream.url}/v1", "api_key": "${OAI_KEY}"}
        },
        "models": {"codex-main": {"provider": "oai", "model": "gpt-fake-5-codex", "max_tokens": "128k"}},
        "routes": {"default": "codex-main"},
    }
    proxy = proxy_server(config, env={"OAI_KEY": PROVIDER_KEY})

    run = run_codex("write the marker file", base_url=proxy.url, model="codex-main", scratch=tmp_path)

    run.assert_ok()
    assert marker.read_text() == "native\n", run.describe()
    turns = fake_upstream.requests
    assert [r.path for r in turns] == ["/v1/responses", "/v1/responses"]
    first, second = (r.json for r in turns)
    # Codex's own request, only the model name changed: its tools (web_search and namespaces included)
    # and fields reach an upstream that understands them
    assert first["model"] == "gpt-fake-5-codex" and first["store"] is False
    assert {"type": "web_search", "external_web_access": True} in first["tools"]
    assert any(t.get("type") == "namespace" for t in first["tools"])
    # the upstream's own reasoning item came back through Codex untouched
    assert any(
        i.get("type") == "reasoning" and i.get("encrypted_content") == "enc-upstream-own" for i in second["input"]
    )
    assert any(i.get("type") == "function_call_output" and i["call_id"] == "call_codex_1" for i in second["input"])
