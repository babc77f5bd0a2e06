"""Issue #16: Claude Code through cc-proxy to an OpenAI Responses upstream (`"format": "openai-responses"`,
the only API of the GPT-5 Codex models), a real multi-step session: every turn reasons (an encrypted
reasoning item with a summary), reads a file, then edits it and runs a command as two calls in one turn,
then answers. The files on disk prove the tools ran; the fake refuses any turn that does not hand the
earlier reasoning items back (tests/e2e/responses_session.py); every upstream request must be a valid
`responses.create` request by the openai SDK's types."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import ProxyFactory
from tests.e2e.claude_cli import CLIENT_KEY, run_claude
from tests.e2e.responses_session import ResponsesEditSession
from tests.fakes.server import FakeUpstream
from tests.responses.test_sdks import check_request_body

PROVIDER_KEY = "sk-openai-responses-provider-key-0003"
UPSTREAM_MODEL = "gpt-fake-5-codex"


def responses_config(upstream_url: str) -> dict[str, Any]:
    return {
        "providers": {
            "openai": {"format": "openai-responses", "base_url": f"{upstream_url}/v1", "api_key": "${OPENAI_API_KEY}"}
        },
        "models": {"codex": {"provider": "openai", "model": UPSTREAM_MODEL, "max_tokens": "32k"}},
        "routes": {"default": "codex"},
        "rules": ["rules.json"],
    }


def test_read_edit_and_parallel_bash_via_responses_upstream(
    proxy_server: ProxyFactory, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    notes = work / "notes.txt"
    notes.write_text("status: TODO\n")
    session = ResponsesEditSession(
        path=str(notes), old="TODO", new="DONE", command=f"echo built > {work / 'build.log'}"
    )
    fake_upstream.always("/v1/responses", session)
    rules = {"rewrite": [{"id": "clamp", "clamp": "max_tokens"}]}
    proxy = proxy_server(
        responses_config(fake_upstream.url), files={"rules.json": rules}, env={"OPENAI_API_KEY": PROVIDER_KEY}
    )

    run = run_claude(
        "mark the notes done and run the build",
        base_url=proxy.url,
        scratch=tmp_path,
        args=["--permission-mode", "default", "--allowedTools", "Read,Edit,Bash"],
    )

    assert session.problems == []
    run.assert_ok()
    assert run.text == session.final
    assert notes.read_text() == "status: DONE\n"
    assert (work / "build.log").read_text() == "built\n"

    requests = [r for r in fake_upstream.requests if r.json and r.json.get("tools")]
    assert len(requests) == 3, [r.path for r in fake_upstream.requests]
    for request in fake_upstream.requests:
        body = request.json
        assert request.path == "/v1/responses"
        check_request_body(body)
        assert request.headers.get("authorization") == f"Bearer {PROVIDER_KEY}"
        assert CLIENT_KEY not in " ".join(value for _, value in request.raw_headers)
        assert body["model"] == UPSTREAM_MODEL
        assert body["store"] is False
        assert body["stream"] is True
        assert body["max_output_tokens"] <= 32000
    for request in requests:
        body = request.json
        assert body["include"] == ["reasoning.encrypted_content"]
        assert isinstance(body.get("prompt_cache_key"), str) and body["prompt_cache_key"]
    assert len({r.json["prompt_cache_key"] for r in requests}) == 1  # one session, one cache key

    third = requests[2].json["input"]
    kinds = [i["type"] for i in third if i["type"] != "message" or i["role"] == "assistant"]
    # reasoning -> Read, its output; reasoning -> text -> Edit, Bash, their outputs
    assert kinds == [
        "reasoning", "function_call", "function_call_output",
        "reasoning", "message", "function_call", "function_call", "function_call_output", "function_call_output",
    ]  # fmt: skip
    outputs = {i["call_id"]: i["output"] for i in third if i["type"] == "function_call_output"}
    assert "status: TODO" in str(outputs["call_read"])
    assert set(outputs) == {"call_read", "call_edit", "call_bash"}
    summaries = [i["summary"] for i in third if i["type"] == "reasoning"]
    assert summaries == [[{"type": "summary_text", "text": t}] for t in session.summaries[:2]]
