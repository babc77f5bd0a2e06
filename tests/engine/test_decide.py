"""decide(): the documented order (explicit provider,model; alias; routing rules; default; 404),
rewrites for the chosen target, the final model/params/extra_body, and retarget for fallbacks."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cc_proxy.engine.decide import NoRouteError, decide, retarget
from cc_proxy.engine.errors import ProxyError
from cc_proxy.engine.tokens import TokenEstimator
from tests.engine.snapshots import DEFAULT_MODELS, make_snapshot, model

ROUTING = [
    {"id": "long", "when": {"tokens": {">": 50}}, "route": "longContext"},
    {"id": "bg", "when": {"model": {"contains": "haiku"}}, "route": "background"},
    {"id": "think", "when": {"thinking": True}, "route": "think"},
    {"id": "pin", "when": {"model": {"glob": "claude-opus-*"}}, "model": "opus"},
]


class Words:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, text: str) -> int:
        self.calls += 1
        return len(text.split())


def req(model_name: str = "claude-sonnet-4-5", text: str = "hello there", **extra: Any) -> dict[str, Any]:
    return {"model": model_name, "max_tokens": 100000, "messages": [{"role": "user", "content": text}], **extra}


SNAP = make_snapshot(
    routes={"default": ("sonnet", ("gpt", "haiku")), "background": "haiku", "think": "opus"},
    routing=ROUTING,
)


def test_explicit_provider_model_wins_over_rules() -> None:
    d = decide(SNAP, req("openai,gpt-4.1", thinking={"type": "enabled"}), {}, TokenEstimator(Words()))
    assert (d.route, d.rule_id, d.target.provider.name, d.target.upstream_model) == (None, None, "openai", "gpt-4.1")
    assert d.request["model"] == "gpt-4.1"
    assert d.requested_model == "openai,gpt-4.1"


def test_explicit_provider_model_inherits_configured_limits() -> None:
    d = decide(SNAP, req("openai, gpt-5"), {}, None)
    assert d.target.max_tokens == 16000 and d.target.params == {"reasoning_effort": "high"}
    assert d.request["reasoning_effort"] == "high"


@pytest.mark.parametrize("name", ["nope,gpt-5", "openai,"])
def test_explicit_unknown_provider_is_404(name: str) -> None:
    with pytest.raises(ProxyError) as err:
        decide(SNAP, req(name), {}, None)
    assert err.value.status == 404 and err.value.should_retry is False
    assert err.value.error_type == "not_found_error"


def test_alias_name() -> None:
    d = decide(SNAP, req("haiku", thinking={"type": "enabled"}), {}, None)
    assert (d.route, d.target.alias, d.request["model"]) == (None, "haiku", "claude-haiku-4-5")


def test_first_matching_rule_wins() -> None:
    d = decide(SNAP, req("claude-haiku-4-5", thinking={"type": "enabled"}), {}, TokenEstimator(Words()))
    assert (d.route, d.rule_id, d.target.alias) == ("background", "bg", "haiku")
    # `long` was tried first but longContext is not configured: skipped without counting tokens
    assert d.trace[0].rule_id == "long" and "not configured" in d.trace[0].reason
    assert not d.features.tokens_computed


def test_rule_with_model_action() -> None:
    d = decide(SNAP, req("claude-opus-4-1-20250805"), {}, None)
    assert (d.route, d.rule_id, d.target.alias, d.fallbacks) == (None, "pin", "opus", ())


def test_tokens_counted_only_when_a_rule_needs_them() -> None:
    words = Words()
    snap = make_snapshot(routes={"default": "sonnet", "longContext": "gpt"}, routing=ROUTING)
    d = decide(snap, req(text="a " * 60), {}, TokenEstimator(words))
    assert (d.route, d.rule_id, d.target.alias) == ("longContext", "long", "gpt")
    assert d.trace[0].reason == "tokens 66 > 50 -> route longContext"
    assert words.calls > 0
    words2 = Words()
    decide(SNAP, req(), {}, TokenEstimator(words2))
    assert words2.calls == 0


def test_default_route_with_fallbacks() -> None:
    d = decide(SNAP, req(), {}, None)
    assert (d.route, d.rule_id, d.target.alias) == ("default", None, "sonnet")
    assert [f.alias for f in d.fallbacks] == ["gpt", "haiku"]
    assert d.trace[-1].phase == "default"


def test_no_default_is_404_naming_configuration() -> None:
    snap = make_snapshot(routes={"think": "opus"}, routing=ROUTING)
    with pytest.raises(ProxyError) as err:
        decide(snap, req("some-model"), {}, None)
    assert err.value.status == 404
    assert "model aliases: gpt, haiku, opus, passthrough, sonnet" in err.value.message
    assert "routes: think" in err.value.message
    assert isinstance(err.value, NoRouteError)
    assert [(s.rule_id, s.matched) for s in err.value.trace] == [
        ("long", False),
        ("bg", False),
        ("think", False),
        ("pin", False),
    ]


def test_passthrough_keeps_client_model_name() -> None:
    snap = make_snapshot(routes={"default": "passthrough"})
    d = decide(snap, req("claude-whatever"), {}, None)
    assert d.request["model"] == "claude-whatever"


REWRITE = [
    {"id": "clamp", "clamp": "max_tokens"},
    {"id": "openai-only", "when": {"format": "openai"}, "drop": ["metadata"]},
    {"id": "think-temp", "when": {"route": "think"}, "set": {"temperature": 1}},
    {
        "id": "user",
        "when": {"header": {"name": "x-user", "present": True}},
        "map": {"metadata.user_id": 'headers."x-user"'},
    },
]


def test_rewrites_apply_for_target_without_mutating_input() -> None:
    snap = make_snapshot(routes={"default": ("sonnet", ("gpt",)), "think": "opus"}, routing=ROUTING, rewrite=REWRITE)
    request = req(metadata={"user_id": "u"})
    before = copy.deepcopy(request)
    d = decide(snap, request, {"X-User": "alice"}, None, explain=True)
    assert request == before
    assert d.request["max_tokens"] == 64000
    assert d.request["metadata"] == {"user_id": "alice"}
    assert "temperature" not in d.request
    assert [(s.rule_id, s.matched) for s in d.trace if s.phase == "rewrite"] == [
        ("clamp", True),
        ("openai-only", False),
        ("think-temp", False),
        ("user", True),
    ]
    assert d.request["messages"] is request["messages"]  # copy-on-write: untouched parts shared

    fallback = retarget(snap, d, "gpt")
    assert fallback.target.alias == "gpt" and fallback.fallbacks == ()
    assert fallback.request["max_tokens"] == 16000
    # openai-only now matches and drops metadata; the later `user` rule maps user_id back in
    rewrite_steps = [(s.rule_id, s.matched) for s in fallback.trace[len(d.trace) :] if s.phase == "rewrite"]
    assert rewrite_steps == [("clamp", True), ("openai-only", True), ("user", True)]
    assert fallback.request["metadata"] == {"user_id": "alice"}
    assert fallback.request["model"] == "gpt-5" and fallback.request["reasoning_effort"] == "high"
    assert fallback.trace[len(d.trace)].phase == "fallback"
    assert request == before


def test_retarget_unknown_alias() -> None:
    d = decide(SNAP, req(), {}, None)
    with pytest.raises(ProxyError):
        retarget(SNAP, d, "nope")


def test_params_and_extra_body_applied_last() -> None:
    models = [
        *DEFAULT_MODELS[:-1],
        model(
            "x",
            upstream="up",
            params={"top_k": 5, "temperature": 0.2},
            extra_body={"metadata": {"user_id": None, "t": {"a": 1}}},
        ),
    ]
    snap = make_snapshot(
        models=models,
        routes={"default": "x"},
        rewrite=[{"id": "t", "set": {"temperature": 1, "metadata.user_id": "u"}}],
    )
    d = decide(snap, req(), {}, None)
    assert d.request["temperature"] == 0.2 and d.request["top_k"] == 5
    assert d.request["metadata"] == {"t": {"a": 1}}
    assert d.request["model"] == "up"


# --- robustness: any JSON body gives a Decision or a ProxyError, never another exception ----------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 100000) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=10,
)
_block = st.fixed_dictionaries(
    {"type": st.sampled_from(["text", "image", "tool_use", "tool_result", "thinking", "redacted_thinking", "x"])},
    optional={"text": _json, "content": _json, "input": _json, "name": _json, "data": _json, "source": _json},
)
_bodies = st.fixed_dictionaries(
    {"model": st.sampled_from(["claude-haiku-4-5", "sonnet", "openai,gpt-5", "nope,x", "m", ""])},
    optional={
        "messages": st.lists(
            st.fixed_dictionaries({"role": st.just("user"), "content": st.text(max_size=5) | st.lists(_block)}),
            max_size=3,
        )
        | _json,
        "system": _json,
        "tools": st.lists(
            st.fixed_dictionaries({}, optional={"name": _json, "type": _json, "input_schema": _json}), max_size=3
        )
        | _json,
        "thinking": _json,
        "tool_choice": _json,
        "max_tokens": _json,
        "metadata": _json,
    },
)
ROBUST_SNAP = make_snapshot(
    routes={"default": "sonnet", "think": "opus", "background": "haiku", "longContext": "gpt"},
    routing=[*ROUTING, {"id": "j", "when": {"jmespath": "length(messages[0].content) > `2`"}, "route": "think"}],
    rewrite=[
        *REWRITE,
        {"id": "drops", "drop": ["messages[*].content[*].cache_control", "tools[*].x"]},
        {"id": "sets", "set": {"metadata.a": {"jmespath": "tools[0].name"}, "tools[*].y": 1}},
        {"id": "filter", "tools": {"deny": ["B*"]}},
    ],
)


@settings(max_examples=300, deadline=None)
@given(body=_bodies)
def test_any_body_gives_a_decision_or_a_proxy_error(body: dict[str, Any]) -> None:
    before = copy.deepcopy(body)
    try:
        decision = decide(ROBUST_SNAP, body, {"x-user": "u"}, TokenEstimator(Words()), explain=True)
    except ProxyError:
        return
    finally:
        assert body == before
    assert decision.features.tokens >= 0
    decision.features.summary()
