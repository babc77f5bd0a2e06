"""Tool search emulated for an OpenAI-format upstream, with the real Claude Code CLI and a real stdio MCP
server with six tools (tests/e2e/mcp_stdio_server.py). Claude Code 2.1.332 names the deferred MCP tools in
a system message and sends, besides the ordinary tools, a `DeferredToolPlaceholder` and (once ToolSearch
found it) each loaded tool with `defer_loading: true`. Through the proxy the upstream never sees the
placeholder; the model calls ToolSearch, the next request carries the tool the search loaded (and only
that one) as an ordinary function, the model calls it, the MCP server runs it, and the request after
that still carries it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tests.conftest import ProxyFactory
from tests.e2e.chat_completions import chat_request_problems
from tests.e2e.claude_cli import run_claude
from tests.e2e.conversations import SIDE_ANSWER, openai_stream
from tests.fakes.responses import Response
from tests.fakes.server import FakeUpstream, RecordedRequest

MCP_SERVER = Path(__file__).with_name("mcp_stdio_server.py")
CLOSE = "mcp__tickets__close_ticket"
FINAL = "Ticket 7 is closed."


def _names(body: dict[str, Any]) -> list[str]:
    return [tool["function"]["name"] for tool in body.get("tools") or []]


def _tool_texts(body: dict[str, Any]) -> list[str]:
    return [str(m.get("content")) for m in body["messages"] if m["role"] == "tool"]


def respond(req: RecordedRequest) -> Response:
    """Search, then call the loaded tool, then answer; decided from what the request carries."""
    body = req.json
    model = body["model"]
    if not body.get("tools"):
        return openai_stream(model, content=SIDE_ANSWER)
    texts = _tool_texts(body)
    if any("close_ticket done" in t for t in texts):
        return openai_stream(model, content=FINAL)
    if CLOSE in _names(body):
        return openai_stream(model, tool_calls=[("call_close", CLOSE, {"id": 7, "comment": "fixed"})])
    return openai_stream(model, tool_calls=[("call_search", "ToolSearch", {"query": f"select:{CLOSE}"})])


def test_tool_search_with_an_mcp_server_through_an_openai_upstream(
    proxy_server: ProxyFactory, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    calls = tmp_path / "mcp-calls.jsonl"
    mcp_config = tmp_path / "mcp.json"
    server = {"command": sys.executable, "args": [str(MCP_SERVER), str(calls)]}
    mcp_config.write_text(json.dumps({"mcpServers": {"tickets": server}}))
    fake_upstream.always("/v1/chat/completions", respond)
    config = {
        "providers": {"up": {"format": "openai", "base_url": f"{fake_upstream.url}/v1", "api_key": "none",
                             "profile": "openai"}},
        "models": {"main": {"provider": "up", "model": "gpt-fake-5"}},
        "routes": {"default": "main"},
    }
    proxy = proxy_server(config)

    run = run_claude(
        "close ticket 7",
        base_url=proxy.url,
        scratch=tmp_path,
        args=["--mcp-config", str(mcp_config), "--strict-mcp-config", "--permission-mode", "default",
              "--allowedTools", f"ToolSearch,{CLOSE}"],
    )

    run.assert_ok()
    assert run.text == FINAL
    assert [json.loads(line)["name"] for line in calls.read_text().splitlines()] == ["close_ticket"]
    turns = [r.json for r in fake_upstream.requests if r.json.get("tools")]
    assert len(turns) == 3, [_names(t) for t in turns]
    for body in turns:
        assert chat_request_problems(body) == []
        assert "DeferredToolPlaceholder" not in _names(body)
    first, second, third = (_names(t) for t in turns)
    assert "ToolSearch" in first and not any(n.startswith("mcp__") for n in first)  # all six deferred
    # The search result loaded exactly the one tool; it is offered from then on, the other five never.
    assert [n for n in second if n.startswith("mcp__")] == [CLOSE]
    assert [n for n in third if n.startswith("mcp__")] == [CLOSE]
    assert any(f"Tool {CLOSE} is loaded" in t for t in _tool_texts(turns[1]))
