"""Rewrite actions, one by one, and the property that no rewrite ever mutates its input."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cc_proxy.engine.features import Features
from cc_proxy.engine.match import RuleContext
from cc_proxy.engine.rewrite import merge_patch
from cc_proxy.engine.rules import compile_rewrite_rule
from cc_proxy.engine.snapshot import ResolvedModel
from tests.engine.snapshots import model

SONNET = model("sonnet", upstream="claude-sonnet-4-5", max_tokens=64000)


def apply(
    raw: dict[str, Any], request: dict[str, Any], headers: dict[str, str] | None = None, target: ResolvedModel = SONNET
) -> dict[str, Any]:
    rule = compile_rewrite_rule({"id": "t", **raw}, "f", "$.rewrite[0]")
    headers = headers or {}
    ctx = RuleContext(request, headers, Features(request, headers, None), "default", target)
    before = copy.deepcopy(request)
    out = request
    for action in rule.actions:
        out = action.apply(out, ctx)
    assert request == before, "input mutated"
    return out


REQ: dict[str, Any] = {
    "model": "claude-opus-4-1",
    "max_tokens": 128000,
    "temperature": 0.5,
    "metadata": {"user_id": "u1"},
    "system": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}],
    "tools": [
        {"name": "Bash", "input_schema": {}, "cache_control": {"type": "ephemeral"}},
        {"name": "WebFetch", "input_schema": {}},
        {"name": "WebSearch", "input_schema": {}},
    ],
    "tool_choice": {"type": "tool", "name": "WebFetch", "disable_parallel_tool_use": True},
    "messages": [{"role": "user", "content": "hi"}],
}


def test_drop() -> None:
    out = apply({"drop": ["temperature", "system[*].cache_control", "tools[*].cache_control", "nope.x"]}, REQ)
    assert "temperature" not in out
    assert out["system"] == [{"type": "text", "text": "s"}]
    assert all("cache_control" not in t for t in out["tools"])
    assert out["messages"] is REQ["messages"]


def test_set_literal_and_jmespath() -> None:
    out = apply(
        {
            "set": {
                "temperature": 1,
                "metadata.tags": {"literal": {"jmespath": "not an expression"}},
                "metadata.user_id": {"jmespath": "metadata.user_id || 'anon'"},
                "metadata.session": {"jmespath": 'headers."x-claude-code-session-id"'},
                "metadata.absent": {"jmespath": "nothing.here"},
            }
        },
        REQ,
        {"x-claude-code-session-id": "sess-1"},
    )
    assert out["temperature"] == 1
    assert out["metadata"] == {"user_id": "u1", "tags": {"jmespath": "not an expression"}, "session": "sess-1"}
    assert "headers" not in out


def test_set_literal_is_not_shared_between_requests() -> None:
    raw = {"set": {"metadata.tags": {"literal": ["a"]}}}
    first = apply(raw, REQ)
    first["metadata"]["tags"].append("mutated by a later stage")
    assert apply(raw, REQ)["metadata"]["tags"] == ["a"]


def test_map_reads_the_request_before_this_rule() -> None:
    out = apply(
        {"drop": ["metadata"], "map": {"metadata.user_id": 'headers."x-user"', "extra.model": "model"}},
        REQ,
        {"x-user": "alice"},
    )
    assert out["metadata"] == {"user_id": "alice"}
    assert out["extra"] == {"model": "claude-opus-4-1"}
    out = apply({"map": {"metadata.copy": "metadata"}}, REQ)
    assert out["metadata"]["copy"] == {"user_id": "u1"}


def test_map_type_error_leaves_destination_alone() -> None:
    assert apply({"map": {"n": "length(max_tokens)"}}, REQ) is REQ


def test_clamp() -> None:
    assert apply({"clamp": "max_tokens"}, REQ)["max_tokens"] == 64000
    small = {**REQ, "max_tokens": 1000}
    assert apply({"clamp": "max_tokens"}, small) is small
    assert apply({"clamp": "max_tokens"}, REQ, target=model("x")) is REQ  # no limit configured


def test_tools_deny_resets_tool_choice() -> None:
    out = apply({"tools": {"deny": ["Web*"]}}, REQ)
    assert [t["name"] for t in out["tools"]] == ["Bash"]
    assert out["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


def test_tools_allow() -> None:
    out = apply({"tools": {"allow": ["Web*"], "deny": ["WebSearch"]}}, REQ)
    assert [t["name"] for t in out["tools"]] == ["WebFetch"]
    assert out["tool_choice"] == REQ["tool_choice"]
    assert apply({"tools": {"deny": ["Nothing"]}}, REQ) is REQ


def test_tools_all_removed_any_becomes_auto() -> None:
    request = {**REQ, "tool_choice": {"type": "any"}}
    out = apply({"tools": {"allow": []}}, request)
    assert out["tools"] == [] and out["tool_choice"] == {"type": "auto"}


def test_merge_patch() -> None:
    base = {"a": {"b": 1, "c": 2}, "d": 3}
    assert merge_patch(base, {"a": {"b": None, "e": [1]}, "d": None, "f": "x"}) == {"a": {"c": 2, "e": [1]}, "f": "x"}
    assert base == {"a": {"b": 1, "c": 2}, "d": 3}


# --- property: no rewrite mutates its input -----------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=4),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from("abxy"), children, max_size=3),
    max_leaves=12,
)
requests = st.dictionaries(st.sampled_from(["a", "b", "max_tokens", "tools", "metadata"]), json_values, max_size=5)
paths = st.sampled_from(["a", "a.b", "a[*]", "a[*].x", "a[0]", "a[-1].b", "b.x.y", "tools[*].name", "metadata.a"])
rules = st.fixed_dictionaries(
    {},
    optional={
        "drop": st.lists(paths, max_size=3),
        "set": st.dictionaries(paths, json_values | st.just({"jmespath": "a"}), max_size=3),
        "map": st.dictionaries(paths, st.sampled_from(["a", "b", "headers", "a[0]", "length(a)"]), max_size=2),
        "clamp": st.just("max_tokens"),
        "tools": st.fixed_dictionaries({"deny": st.lists(st.sampled_from(["a*", "x"]), max_size=2)}),
    },
).filter(bool)


@settings(max_examples=300, deadline=None)
@given(request=requests, raw=rules)
def test_rewrite_never_mutates_input(request: dict[str, Any], raw: dict[str, Any]) -> None:
    before = copy.deepcopy(request)
    out = apply(raw, request, {"x-h": "v"}, target=model("m", max_tokens=2))
    assert request == before
    # Deterministic: the same rule on the same input gives the same output.
    assert apply(raw, request, {"x-h": "v"}, target=model("m", max_tokens=2)) == out


def test_map_cannot_copy_client_credentials_into_the_body() -> None:
    out = apply(
        {
            "map": {
                "metadata.key": 'headers."x-api-key"',
                "metadata.auth": "headers.authorization",
                "metadata.app": 'headers."x-app"',
            }
        },
        REQ,
        {"x-api-key": "sk-ant-secret", "authorization": "Bearer sk", "x-app": "cli"},
    )
    assert out["metadata"] == {"user_id": "u1", "app": "cli"}
