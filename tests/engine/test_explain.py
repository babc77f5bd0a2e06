"""`cc-proxy explain`: input forms, the report, the text rendering, and the command end to end."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from cc_proxy.engine.tokens import TokenEstimator
from cc_proxy.server.commands import explain
from cc_proxy.server.commands.explain import InputError, build_report, parse_header_args, parse_request, render_text
from tests.conftest import claude_code_fixture
from tests.engine.test_decide_cases import CASES_DIR, load_snapshot

BODY = {"model": "claude-haiku-4-5", "max_tokens": 100000, "messages": [{"role": "user", "content": "hi"}]}


def words(text: str) -> int:
    return len(text.split())


def test_parse_request_forms() -> None:
    assert parse_request(BODY) == (BODY, {})
    exchange = {"headers": {"X-App": "cli", "x-api-key": "sk-secret"}, "body": BODY}
    assert parse_request(exchange) == (BODY, {"x-app": "cli", "x-api-key": "sk-secret"})
    assert parse_request({"headers": {}, "body": json.dumps(BODY)})[0] == BODY
    captured = json.loads(claude_code_fixture("say_hi.v2.1.197.requests.json").read_text())
    body, headers = parse_request(captured)  # a list: the /v1/messages exchange, not the HEAD /
    assert body["model"] == "claude-opus-4-8" and headers["user-agent"].startswith("claude-cli/2.1.197")


@pytest.mark.parametrize("bad", [[], [{"path": "/", "body": None}], "text", {"body": "{nope"}, {"messages": []}])
def test_parse_request_rejects(bad: Any) -> None:
    with pytest.raises(InputError):
        parse_request(bad)


def test_header_args() -> None:
    assert parse_header_args(["X-User: alice", "x-url:http://a:b"]) == {"x-user": "alice", "x-url": "http://a:b"}
    with pytest.raises(InputError):
        parse_header_args(["novalue"])


def test_report_and_text() -> None:
    snapshot = load_snapshot(CASES_DIR / "haiku-background-openai-target")
    headers = {"x-api-key": "sk-ant-secret", "x-app": "cli"}
    report = build_report(snapshot, BODY, headers, TokenEstimator(words))
    assert report["route"] == "background" and report["rule"] == "background"
    assert report["target"] == {
        "alias": "deepseek",
        "provider": "deepseek",
        "format": "openai",
        "upstream_model": "deepseek-chat",
        "max_tokens": 8000,
    }
    assert report["features"]["tokens"] == 7  # forced, although no rule needed it
    assert report["headers"] == ["x-app"]  # never the key
    assert [(s["rule"], s["matched"]) for s in report["trace"]][:2] == [("long-context", False), ("background", True)]
    assert report["trace"][0]["reason"] == "tokens 7 is not > 60000"
    diff_lines = report["diff"].splitlines()
    assert '-  "model": "claude-haiku-4-5",' in diff_lines and '+  "model": "deepseek-chat",' in diff_lines
    assert '+  "temperature": 0.3' in diff_lines
    orjson.dumps(report)  # --json output is plain JSON

    text = render_text(report)
    assert "sk-ant-secret" not in text
    assert "  - routing  long-context: tokens 7 is not > 60000" in text
    assert "  + routing  background: model 'claude-haiku-4-5' contains 'haiku' -> route background" in text
    assert "  target     deepseek: provider deepseek (openai), model deepseek-chat" in text
    assert '+  "max_tokens": 8000,' in text


def test_report_for_404() -> None:
    snapshot = load_snapshot(CASES_DIR / "no-default-route-404")
    report = build_report(snapshot, {**BODY, "model": "gpt-x"}, {}, TokenEstimator(words))
    assert report["error"]["status"] == 404 and "routes: think" in report["error"]["message"]
    assert [(s["rule"], s["matched"]) for s in report["trace"]] == [("think", False)]
    text = render_text(report)
    assert "  - routing  think: thinking is false (wanted true)" in text
    assert "no target: the proxy answers 404 not_found_error" in text


def test_long_lines_are_clipped_in_the_diff() -> None:
    before = {"model": "a", "system": "x" * 5000}
    after = {"model": "b", "system": "x" * 5000 + "y"}
    diff = explain.request_diff(before, after, "to p")
    assert max(len(line) for line in diff.splitlines()) <= explain.MAX_DIFF_LINE + 40
    assert "more chars]" in diff


def run_explain(tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    explain.add_arguments(parser)
    code = explain.run(parser.parse_args(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_command_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "nope.json")
    assert run_explain(tmp_path, [missing], capsys)[0] == explain.EXIT_BAD_INPUT
    (tmp_path / "bad.json").write_text("{")
    code, _, err = run_explain(tmp_path, [str(tmp_path / "bad.json")], capsys)
    assert code == explain.EXIT_BAD_INPUT and "is not JSON" in err


def test_command_on_a_captured_exchange(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cc_proxy.server.cli import main

    config = str(CASES_DIR / "captured-exchange-header-rewrites" / "config.json")
    request = str(claude_code_fixture("say_hi.v2.1.332.request.json"))
    assert main(["explain", request, "--config", config]) == explain.EXIT_OK
    out = capsys.readouterr().out
    assert "  + routing  claude-cli: header user-agent 'claude-cli/2.1.332 (external, sdk-cli)' matches glob" in out
    assert "  route      default (rule claude-cli)" in out
    assert '+    "session_id": "a0343a18-dc47-43aa-89fa-99d93f1ed13e",' in out
    assert "sk-ant-e2e-dummy" not in out  # the capture's x-api-key is never shown

    assert main(["explain", request, "--config", config, "--json", "-H", "x-claude-code-session-id: other"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["request"]["metadata"]["session_id"] == "other"
    assert report["target"]["upstream_model"] == "claude-sonnet-4-5"
    assert report["features"]["tokens"] > 8000


def test_command_builtin_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CC_PROXY_CONFIG", raising=False)
    request = tmp_path / "body.json"
    request.write_text(json.dumps(BODY))
    code, out, _ = run_explain(tmp_path, [str(request)], capsys)
    assert code == explain.EXIT_OK
    assert "config    built-in default" in out
    # builtin:default rules: background is not configured in the built-in config, so it is skipped
    assert "  - routing  background: route 'background' is not configured: skipped" in out
    assert "  target     anthropic: provider anthropic (anthropic), model claude-haiku-4-5" in out


def test_command_config_problems_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cc-proxy.json").write_text('{"routes": {"default": "nope"}}')
    request = tmp_path / "body.json"
    request.write_text(json.dumps(BODY))
    code, _, err = run_explain(tmp_path, [str(request), "--config", str(tmp_path / "cc-proxy.json")], capsys)
    assert code == explain.EXIT_NO_ROUTE and "cc-proxy.json" in err


def test_report_names_what_the_proxy_emulates() -> None:
    """Tool search for an OpenAI-format target: the hidden tool is named, the diff shows it gone."""
    snapshot = load_snapshot(CASES_DIR / "haiku-background-openai-target")
    body = json.loads(claude_code_fixture("toolsearch_tool_reference_followup.v2.1.332.body.json").read_text())
    body["model"] = "claude-haiku-4-5"
    report = build_report(snapshot, body, {}, TokenEstimator(words))
    assert report["emulated"] == [
        "defer_tools: 1 deferred tool(s) hidden until ToolSearch loads them (DeferredToolPlaceholder); loaded: WebFetch"
    ]
    assert "DeferredToolPlaceholder" not in [t["name"] for t in report["request"]["tools"]]
    text = render_text(report)
    assert "emulated (what the Anthropic API would do" in text and "(DeferredToolPlaceholder)" in text
    removed = [line for line in text.splitlines() if line.startswith("-") and "DeferredToolPlaceholder" in line]
    assert any('"name": "DeferredToolPlaceholder"' in line for line in removed)
