"""engine.claude_code on real Claude Code 2.1.332 requests: session id, subagent, request kind; and the
rule conditions built on them (`session`, `subagent`, `kind`)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cc_proxy.engine.claude_code import is_subagent, request_kind, session_id
from cc_proxy.engine.features import Features
from cc_proxy.engine.match import RuleContext, evaluate
from cc_proxy.engine.rules import compile_condition
from tests.conftest import claude_code_fixture


def _load(name: str) -> Any:
    return json.loads(claude_code_fixture(name).read_text())


SUBAGENT = _load("subagent_turn.v2.1.332.request.json")
MAIN_BODY = _load("say_hi.v2.1.332.body.json")
MAIN_HEADERS = _load("say_hi.v2.1.332.headers.json")
COMPACT = _load("compact_summary.v2.1.332.body.json")


def test_session_id_from_the_header_else_from_metadata() -> None:
    assert session_id(MAIN_BODY, MAIN_HEADERS) == MAIN_HEADERS["x-claude-code-session-id"]
    from_metadata = json.loads(MAIN_BODY["metadata"]["user_id"])["session_id"]
    assert session_id(MAIN_BODY, {}) == from_metadata
    assert session_id({"metadata": {"user_id": "plain-user"}}, {}) == ""
    assert session_id({"metadata": {"user_id": "{not json"}}, {}) == ""
    assert session_id({}, {}) == ""


def test_subagent_by_header_or_by_the_billing_line() -> None:
    headers, body = SUBAGENT["headers"], SUBAGENT["body"]
    assert "x-claude-code-agent-id" in headers and "cc_is_subagent=true" in body["system"][0]["text"]
    assert is_subagent(body, headers)
    assert is_subagent(body, {})  # the billing line alone
    assert is_subagent({}, {"x-claude-code-agent-id": "a1"})  # the header alone
    assert not is_subagent(MAIN_BODY, MAIN_HEADERS)
    text_elsewhere = {"system": [{"type": "text", "text": "talk about cc_is_subagent=true"}]}
    assert not is_subagent(text_elsewhere, {})


@pytest.mark.parametrize(
    ("body", "kind"),
    [(MAIN_BODY, "main"), (COMPACT, "compaction"), ({"messages": [{"role": "user", "content": "title?"}]}, "side")],
)
def test_request_kind(body: dict[str, Any], kind: str) -> None:
    assert request_kind(body) == kind


@pytest.mark.parametrize(
    ("when", "headers", "body", "ok", "reason"),
    [
        ({"subagent": True}, SUBAGENT["headers"], SUBAGENT["body"], True, "subagent is true (wanted true)"),
        ({"subagent": True}, MAIN_HEADERS, MAIN_BODY, False, "subagent is false (wanted true)"),
        ({"kind": "compaction"}, {}, COMPACT, True, "kind 'compaction' equals 'compaction'"),
        ({"session": {"glob": "a0343a18-*"}}, MAIN_HEADERS, MAIN_BODY, True,
         f"session {MAIN_HEADERS['x-claude-code-session-id']!r} matches glob 'a0343a18-*'"),
    ],
)
def test_conditions(when: dict[str, Any], headers: dict[str, str], body: dict[str, Any], ok: bool, reason: str) -> None:
    condition = compile_condition(when, "$.when", rewrite=False)
    ctx = RuleContext(body, headers, Features(body, headers, None))
    assert condition.matches(ctx) is ok
    assert evaluate(condition, ctx) == (ok, reason)
