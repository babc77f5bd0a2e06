"""A real Claude Code subagent through cc-proxy: the main turn calls the Agent tool, the subagent's turns
(x-claude-code-agent-id, cc_is_subagent in the billing line) match builtin:default's `subagent` rule and
go to the `subagent` route's cheaper model, the main conversation stays on `default`; one session id,
sent as the OpenAI `prompt_cache_key` on every request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import ProxyFactory
from tests.e2e.claude_cli import run_claude
from tests.e2e.conversations import SIDE_ANSWER, openai_stream
from tests.fakes.responses import Response
from tests.fakes.server import FakeUpstream, RecordedRequest

REPORT = "SUBAGENT REPORT: 3 files"
FINAL = "The agent counted 3 files."


def respond(req: RecordedRequest) -> Response:
    body = req.json
    model = body["model"]
    if not body.get("tools"):
        return openai_stream(model, content=SIDE_ANSWER)
    if model == "gpt-cheap":  # only subagents are routed here
        return openai_stream(model, content=REPORT)
    if REPORT in json.dumps(body["messages"]):
        return openai_stream(model, content=FINAL)
    task = {"description": "count files", "prompt": "Count the files and report.",
            "subagent_type": "general-purpose", "run_in_background": False}
    return openai_stream(model, tool_calls=[("call_agent", "Agent", task)])


def test_subagent_turns_go_to_the_subagent_route(
    proxy_server: ProxyFactory, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    fake_upstream.always("/v1/chat/completions", respond)
    config: dict[str, Any] = {
        "providers": {"up": {"format": "openai", "base_url": f"{fake_upstream.url}/v1", "api_key": "none",
                             "profile": "openai"}},
        "models": {"main": {"provider": "up", "model": "gpt-main"}, "cheap": {"provider": "up", "model": "gpt-cheap"}},
        "routes": {"default": "main", "subagent": "cheap"},
    }
    proxy = proxy_server(config)

    run = run_claude(
        "use an agent to count the files",
        base_url=proxy.url,
        scratch=tmp_path,
        args=["--permission-mode", "default", "--allowedTools", "Agent"],
    )

    run.assert_ok()
    assert run.text == FINAL
    turns = [r for r in fake_upstream.requests if r.json.get("tools")]
    models = [r.json["model"] for r in turns]
    assert models == ["gpt-main", "gpt-cheap", "gpt-main"], models
    keys = {r.json.get("prompt_cache_key") for r in fake_upstream.requests}
    assert len(keys) == 1 and None not in keys  # one session, one cache key
    assert run.result is not None and run.result["session_id"] in keys
