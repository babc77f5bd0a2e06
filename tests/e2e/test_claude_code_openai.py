"""Issue #4: Claude Code through cc-proxy to an OpenAI-format (DeepSeek) upstream, a real multi-step
session: the model thinks (`reasoning_content`), reads a file, then edits it and runs a command as two
tool calls streamed in parallel in one turn, then answers. The files on disk prove the tools ran; every
upstream request must be a valid Chat Completions request that hands the reasoning back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import ProxyFactory
from tests.e2e.chat_completions import chat_request_problems
from tests.e2e.claude_cli import CLIENT_KEY, run_claude
from tests.e2e.conversations import EditSession
from tests.fakes.server import FakeUpstream

PROVIDER_KEY = "sk-deepseek-provider-key-0002"
UPSTREAM_MAX_TOKENS = 8000


def deepseek_config(upstream_url: str) -> dict[str, Any]:
    return {
        "providers": {
            "deepseek": {
                "format": "openai",
                "base_url": f"{upstream_url}/v1",
                "api_key": "${DEEPSEEK_API_KEY}",
                "profile": "deepseek",
            }
        },
        "models": {
            "deepseek": {"provider": "deepseek", "model": "deepseek-reasoner", "max_tokens": "8k"},
        },
        "routes": {"default": "deepseek"},
        "rules": ["rules.json"],
    }


RULES = {"rewrite": [{"id": "clamp", "clamp": "max_tokens"}]}


def test_read_edit_and_parallel_bash_via_openai_upstream(
    proxy_server: ProxyFactory, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    notes = work / "notes.txt"
    notes.write_text("status: TODO\n")
    session = EditSession(path=str(notes), old="TODO", new="DONE", command=f"echo built > {work / 'build.log'}")
    fake_upstream.always("/v1/chat/completions", session)
    proxy = proxy_server(
        deepseek_config(fake_upstream.url), files={"rules.json": RULES}, env={"DEEPSEEK_API_KEY": PROVIDER_KEY}
    )

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
        assert request.path == "/v1/chat/completions"
        assert chat_request_problems(request.json) == []
        assert request.headers.get("authorization") == f"Bearer {PROVIDER_KEY}"
        assert CLIENT_KEY not in " ".join(value for _, value in request.raw_headers)
        assert request.json["model"] == "deepseek-reasoner"
        assert request.json["stream"] is True
        assert request.json["max_tokens"] <= UPSTREAM_MAX_TOKENS
        assert request.json.get("thinking") == {"type": "enabled"}

    second, third = requests[1].json, requests[2].json
    # Turn 2 carries the Read call with its reasoning and the file's content as the tool result.
    read_turn = [m for m in second["messages"] if m["role"] == "assistant"][-1]
    assert [c["function"]["name"] for c in read_turn["tool_calls"]] == ["Read"]
    assert read_turn.get("reasoning_content") == session.reasoning[0]
    tool_messages = [m for m in second["messages"] if m["role"] == "tool"]
    assert "status: TODO" in str(tool_messages[-1]["content"])
    # Turn 3 carries both parallel calls in one assistant message, each answered by a tool message.
    parallel_turn = [m for m in third["messages"] if m["role"] == "assistant"][-1]
    assert [c["function"]["name"] for c in parallel_turn["tool_calls"]] == ["Edit", "Bash"]
    assert parallel_turn.get("reasoning_content") == session.reasoning[1]
    answered = {m["tool_call_id"] for m in third["messages"] if m["role"] == "tool"}
    assert {c["id"] for c in parallel_turn["tool_calls"]} <= answered
