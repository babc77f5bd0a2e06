"""Issue #4: Claude Code through cc-proxy to an OpenAI-format upstream, a real multi-step session: the
model thinks (`reasoning_content`), reads a file, then edits it and runs a command as two tool calls
streamed in parallel in one turn, then answers. The files on disk prove the tools ran; every upstream
request must be a valid Chat Completions request in the profile's dialect: DeepSeek's hands the reasoning
back on the assistant turns (it rejects tool turns without it), plain OpenAI's does not."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ProxyFactory
from tests.e2e.chat_completions import chat_request_problems
from tests.e2e.claude_cli import CLIENT_KEY, run_claude
from tests.e2e.conversations import EditSession
from tests.fakes.server import FakeUpstream

PROVIDER_KEY = "sk-openai-format-provider-key-0002"
UPSTREAM_MAX_TOKENS = 8000
RULES = {"rewrite": [{"id": "clamp", "clamp": "max_tokens"}]}


@dataclass(frozen=True)
class Dialect:
    profile: str
    upstream_model: str
    max_tokens_field: str
    echoes_reasoning: bool
    system_role: str


DIALECTS = [
    Dialect("deepseek", "deepseek-reasoner", "max_tokens", echoes_reasoning=True, system_role="system"),
    Dialect("openai", "gpt-fake-5", "max_completion_tokens", echoes_reasoning=False, system_role="developer"),
]


def openai_format_config(upstream_url: str, dialect: Dialect) -> dict[str, Any]:
    return {
        "providers": {
            "upstream": {
                "format": "openai",
                "base_url": f"{upstream_url}/v1",
                "api_key": "${UPSTREAM_API_KEY}",
                "profile": dialect.profile,
            }
        },
        "models": {"main": {"provider": "upstream", "model": dialect.upstream_model, "max_tokens": "8k"}},
        "routes": {"default": "main"},
        "rules": ["rules.json"],
    }


@pytest.mark.parametrize("dialect", DIALECTS, ids=[d.profile for d in DIALECTS])
def test_read_edit_and_parallel_bash_via_openai_upstream(
    dialect: Dialect, proxy_server: ProxyFactory, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    notes = work / "notes.txt"
    notes.write_text("status: TODO\n")
    session = EditSession(path=str(notes), old="TODO", new="DONE", command=f"echo built > {work / 'build.log'}")
    fake_upstream.always("/v1/chat/completions", session)
    config = openai_format_config(fake_upstream.url, dialect)
    proxy = proxy_server(config, files={"rules.json": RULES}, env={"UPSTREAM_API_KEY": PROVIDER_KEY})

    run = run_claude(
        "mark the notes done and run the build",
        base_url=proxy.url,
        scratch=tmp_path,
        args=["--permission-mode", "default", "--allowedTools", "Read,Edit,Bash"],
    )

    run.assert_ok()
    assert run.text == session.final
    assert notes.read_text() == "status: DONE\n"
    assert (work / "build.log").read_text() == "built\n"

    requests = [r for r in fake_upstream.requests if r.json and r.json.get("tools")]
    assert len(requests) == 3, [r.path for r in fake_upstream.requests]
    for request in fake_upstream.requests:
        body = request.json
        assert request.path == "/v1/chat/completions"
        assert chat_request_problems(body) == []
        assert request.headers.get("authorization") == f"Bearer {PROVIDER_KEY}"
        assert CLIENT_KEY not in " ".join(value for _, value in request.raw_headers)
        assert body["model"] == dialect.upstream_model
        assert body["stream"] is True
        assert body[dialect.max_tokens_field] <= UPSTREAM_MAX_TOKENS
        assert body["messages"][0]["role"] == dialect.system_role
        assert ("thinking" in body) is (dialect.profile == "deepseek")

    second, third = requests[1].json, requests[2].json
    # Turn 2 carries the Read call and the file's content as the tool result.
    read_turn = [m for m in second["messages"] if m["role"] == "assistant"][-1]
    assert [c["function"]["name"] for c in read_turn["tool_calls"]] == ["Read"]
    tool_messages = [m for m in second["messages"] if m["role"] == "tool"]
    assert "status: TODO" in str(tool_messages[-1]["content"])
    # Turn 3 carries both parallel calls in one assistant message, each answered by a tool message.
    parallel_turn = [m for m in third["messages"] if m["role"] == "assistant"][-1]
    assert [c["function"]["name"] for c in parallel_turn["tool_calls"]] == ["Edit", "Bash"]
    answered = {m["tool_call_id"] for m in third["messages"] if m["role"] == "tool"}
    assert {c["id"] for c in parallel_turn["tool_calls"]} <= answered
    # The thinking Claude Code kept (as thinking blocks) goes back only where the dialect wants it.
    if dialect.echoes_reasoning:
        assert read_turn.get("reasoning_content") == session.reasoning[0]
        assert parallel_turn.get("reasoning_content") == session.reasoning[1]
    else:
        assert all("reasoning_content" not in m for r in requests for m in r.json["messages"])
