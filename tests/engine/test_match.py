"""One case per operator: `matches` and the reason `explain` gives."""

from __future__ import annotations

from typing import Any

import pytest

from cc_proxy.engine.features import Features
from cc_proxy.engine.match import RuleContext
from cc_proxy.engine.rules import compile_rewrite_rule, compile_routing_rule
from cc_proxy.engine.snapshot import ResolvedModel
from cc_proxy.engine.tokens import TokenEstimator
from tests.engine.snapshots import model


def words(text: str) -> int:
    return len(text.split())


def ctx_for(
    request: dict[str, Any],
    headers: dict[str, str] | None = None,
    *,
    route: str | None = None,
    target: ResolvedModel | None = None,
) -> RuleContext:
    headers = headers or {}
    return RuleContext(request, headers, Features(request, headers, TokenEstimator(words)), route, target)


BASE: dict[str, Any] = {
    "model": "claude-haiku-4-5-20251001",
    "max_tokens": 1000,
    "messages": [{"role": "user", "content": "one two three four five"}],
}


def check(when: Any, request: dict[str, Any], expected: bool, reason: str, **ctx: Any) -> None:
    compile_ = compile_rewrite_rule if "target" in ctx or "route" in ctx else None
    if compile_ is not None:
        cond = compile_({"id": "t", "when": when, "drop": ["x"]}, "f", "$").when
    else:
        cond = compile_routing_rule({"id": "t", "when": when, "route": "r"}, "f", "$").when
    c = ctx_for(request, ctx.pop("headers", None), **ctx)
    assert cond.matches(c) is expected
    assert cond.explain(c) == reason


def test_tokens() -> None:
    # 3 request + 3 message overhead + 5 words = 11 with the word-count encoder
    check({"tokens": {">": 10}}, BASE, True, "tokens 11 > 10")
    check({"tokens": {">": "1k"}}, BASE, False, "tokens 11 is not > 1000")
    check({"tokens": {">=": 11, "<": 12}}, BASE, True, "(tokens 11 >= 11 and tokens 11 < 12)")
    check({"tokens": {"==": 12}}, BASE, False, "tokens 11 is not == 12")


@pytest.mark.parametrize(
    ("when", "expected", "reason"),
    [
        ("claude-haiku-4-5-20251001", True, "model 'claude-haiku-4-5-20251001' equals 'claude-haiku-4-5-20251001'"),
        ({"equals": "haiku"}, False, "model 'claude-haiku-4-5-20251001' does not equal 'haiku'"),
        ({"contains": "haiku"}, True, "model 'claude-haiku-4-5-20251001' contains 'haiku'"),
        ({"glob": "claude-*-4-5*"}, True, "model 'claude-haiku-4-5-20251001' matches glob 'claude-*-4-5*'"),
        ({"glob": "claude-opus-*"}, False, "model 'claude-haiku-4-5-20251001' does not match glob 'claude-opus-*'"),
        ({"regex": "haiku-\\d"}, True, "model 'claude-haiku-4-5-20251001' matches regex 'haiku-\\\\d'"),
        ({"regex": "^haiku"}, False, "model 'claude-haiku-4-5-20251001' does not match regex '^haiku'"),
    ],
)
def test_model(when: Any, expected: bool, reason: str) -> None:
    check({"model": when}, BASE, expected, reason)


def test_thinking() -> None:
    for kind, on in (("enabled", True), ("adaptive", True), ("disabled", False)):
        request = {**BASE, "thinking": {"type": kind}}
        check({"thinking": True}, request, on, f"thinking is {str(on).lower()} (wanted true)")
    check({"thinking": False}, BASE, True, "thinking is false (wanted false)")


TOOLS: dict[str, Any] = {
    **BASE,
    "tools": [
        {"name": "Bash", "input_schema": {"type": "object"}},
        {"name": "mcp__github__search", "type": "custom", "input_schema": {}},
        {"type": "web_search_20250305", "name": "web_search"},
    ],
}


def test_tools_and_tool_globs() -> None:
    check({"tools": True}, TOOLS, True, "tools is true (wanted true)")
    check({"tools": False}, BASE, True, "tools is false (wanted false)")
    check({"tool": "mcp__*"}, TOOLS, True, "tool 'mcp__github__search' matches 'mcp__*'")
    check({"tool": "Web*"}, TOOLS, False, "no tool matches 'Web*' (have Bash, mcp__github__search)")
    check({"tool": "web_search"}, TOOLS, False, "no tool matches 'web_search' (have Bash, mcp__github__search)")
    check({"server_tool": "web_search*"}, TOOLS, True, "server tool 'web_search_20250305' matches 'web_search*'")
    check({"server_tool": "web_search*"}, BASE, False, "no server tool matches 'web_search*' (have none)")


def test_images_anywhere() -> None:
    image = {"type": "image", "source": {"type": "url", "url": "https://x/a.png"}}
    nested = {
        **BASE,
        "messages": [
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [image]}]},
        ],
    }
    check({"images": True}, nested, True, "images is true (wanted true)")
    check({"images": True}, BASE, False, "images is false (wanted true)")


def test_header() -> None:
    headers = {"x-app": "cli", "user-agent": "claude-cli/2.1.332 (external, sdk-cli)"}
    check(
        {"header": {"name": "X-App", "equals": "cli"}}, BASE, True, "header x-app 'cli' equals 'cli'", headers=headers
    )
    check(
        {"header": {"name": "user-agent", "glob": "claude-cli/*"}},
        BASE,
        True,
        "header user-agent 'claude-cli/2.1.332 (external, sdk-cli)' matches glob 'claude-cli/*'",
        headers=headers,
    )
    check({"header": {"name": "x-missing", "contains": "a"}}, BASE, False, "header x-missing is absent", headers={})
    check(
        {"header": {"name": "x-app", "present": True}},
        BASE,
        True,
        "header x-app is present (wanted present)",
        headers=headers,
    )
    check({"header": {"name": "x-app", "present": False}}, BASE, True, "header x-app is absent (wanted absent)")


def test_jmespath() -> None:
    check({"jmespath": "max_tokens > `500`"}, BASE, True, "jmespath 'max_tokens > `500`' is truthy (True)")
    check({"jmespath": "metadata.user_id"}, BASE, False, "jmespath 'metadata.user_id' is falsy (None)")
    check(
        {"jmespath": "headers.\"x-app\" == 'cli'"},
        BASE,
        True,
        "jmespath 'headers.\"x-app\" == \\'cli\\'' is truthy (True)",
        headers={"x-app": "cli"},
    )
    # A type error at evaluation time is a non-match, never an exception.
    check(
        {"jmespath": "length(max_tokens)"},
        BASE,
        False,
        "jmespath 'length(max_tokens)' failed (JMESPathTypeError: In function length(), invalid type for value: "
        "1000, expected one of: ['string', 'array', 'object'], received: \"number\"): no match",
    )
    check({"jmespath": "`0`"}, BASE, True, "jmespath '`0`' is truthy (0)")  # JMESPath: 0 is true


def test_all_any_not() -> None:
    check(
        {"all": [{"thinking": False}, {"model": {"contains": "haiku"}}]},
        BASE,
        True,
        "(thinking is false (wanted false) and model 'claude-haiku-4-5-20251001' contains 'haiku')",
    )
    check(
        {"any": [{"thinking": True}, {"tools": True}]},
        BASE,
        False,
        "none of (thinking is false (wanted true); tools is false (wanted true))",
    )
    check(
        {"any": [{"thinking": True}, {"model": {"contains": "haiku"}}]},
        BASE,
        True,
        "model 'claude-haiku-4-5-20251001' contains 'haiku'",
    )
    check({"not": {"thinking": True}}, BASE, True, "not (thinking is false (wanted true))")
    check({}, BASE, True, "always")


def test_and_short_circuits_before_counting_tokens() -> None:
    calls: list[str] = []

    def counting(text: str) -> int:
        calls.append(text)
        return 1

    cond = compile_routing_rule(
        {"id": "t", "when": {"thinking": True, "tokens": {">": 5}}, "route": "r"}, "f", "$"
    ).when
    features = Features(BASE, {}, TokenEstimator(counting))
    ctx = RuleContext(BASE, {}, features)
    assert not cond.matches(ctx)
    assert "thinking is false" in cond.explain(ctx)
    assert calls == [] and not features.tokens_computed


def test_target_conditions() -> None:
    gpt = model("gpt", "openai", "gpt-5")
    passthrough = model("passthrough")
    check({"route": "think"}, BASE, True, "route 'think' equals 'think'", route="think", target=gpt)
    check({"route": "think"}, BASE, False, "route is not set", route=None, target=gpt)
    check({"target": {"glob": "g*"}}, BASE, True, "target 'gpt' matches glob 'g*'", target=gpt)
    check({"provider": "openai"}, BASE, True, "provider 'openai' equals 'openai'", target=gpt)
    check({"format": "anthropic"}, BASE, False, "format 'openai' does not equal 'anthropic'", target=gpt)
    check({"upstream_model": {"contains": "gpt"}}, BASE, True, "upstream_model 'gpt-5' contains 'gpt'", target=gpt)
    # No upstream model configured: the client's model name is what goes upstream.
    check(
        {"upstream_model": {"contains": "haiku"}},
        BASE,
        True,
        "upstream_model 'claude-haiku-4-5-20251001' contains 'haiku'",
        target=passthrough,
    )


def test_credentials_never_reach_jmespath_or_explanations() -> None:
    headers = {"x-api-key": "sk-ant-secret", "authorization": "Bearer sk-secret", "x-app": "cli"}
    check(
        {"jmespath": 'headers."x-api-key"'},
        BASE,
        False,
        "jmespath 'headers.\"x-api-key\"' is falsy (None)",
        headers=headers,
    )
    check({"jmespath": "keys(headers)"}, BASE, True, "jmespath 'keys(headers)' is truthy (['x-app'])", headers=headers)
    check(
        {"header": {"name": "x-api-key", "glob": "sk-ant-*"}},
        BASE,
        True,
        "header x-api-key matches (glob, value hidden)",
        headers=headers,
    )
    check(
        {"header": {"name": "Authorization", "contains": "nope"}},
        BASE,
        False,
        "header authorization does not match (contains, value hidden)",
        headers=headers,
    )
