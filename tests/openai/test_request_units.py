"""Request translation details that are tables rather than conversations: reasoning knobs per profile,
capabilities, user ids, and robustness on arbitrary (already JSON-parsed) input."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cc_proxy.engine.wire.openai_request import translate_request
from tests.openai.support import make_target
from tests.openai.typed_check import check_request_body

BASE = {"model": "m", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}
ADAPTIVE = {"thinking": {"type": "adaptive"}}
ADAPTIVE_MAX = {"thinking": {"type": "adaptive"}, "output_config": {"effort": "max"}}
BUDGET = {"thinking": {"type": "enabled", "budget_tokens": 2048}}
DISABLED = {"thinking": {"type": "disabled"}, "output_config": {"effort": "high"}}
EFFORT_ONLY = {"output_config": {"effort": "low"}}

REASONING_KEYS = ("reasoning_effort", "reasoning", "thinking")


@pytest.mark.parametrize(
    ("profile", "extra", "expected"),
    [
        ("openai", ADAPTIVE, {}),
        ("openai", ADAPTIVE_MAX, {"reasoning_effort": "high"}),
        ("openai", BUDGET, {"reasoning_effort": "low"}),
        ("openai", DISABLED, {"reasoning_effort": "low"}),  # the lowest the profile lists
        ({"extends": "openai", "reasoning_efforts": ["none", "low", "high"]}, DISABLED, {"reasoning_effort": "none"}),
        ("openai", EFFORT_ONLY, {}),  # effort without thinking: the model may not reason at all
        ("deepseek", EFFORT_ONLY, {}),
        ("deepseek", ADAPTIVE, {"thinking": {"type": "enabled"}}),
        ("deepseek", ADAPTIVE_MAX, {"thinking": {"type": "enabled"}, "reasoning_effort": "max"}),
        ("deepseek", DISABLED, {"thinking": {"type": "disabled"}}),
        ("deepseek", {}, {}),
        ("openrouter", ADAPTIVE, {"reasoning": {"enabled": True}}),
        ("openrouter", ADAPTIVE_MAX, {"reasoning": {"effort": "xhigh"}}),
        ("openrouter", BUDGET, {"reasoning": {"max_tokens": 2048}}),
        ("openrouter", DISABLED, {"reasoning": {"effort": "minimal"}}),
        ("groq", ADAPTIVE_MAX, {}),  # reasoning_request "none"
    ],
)
def test_reasoning_knobs(profile: Any, extra: dict[str, Any], expected: dict[str, Any]) -> None:
    body = translate_request(make_target(profile), {**BASE, **extra})
    assert {k: body[k] for k in REASONING_KEYS if k in body} == expected


@pytest.mark.parametrize("profile", ["deepseek", "openai"])
@pytest.mark.parametrize("extra", [ADAPTIVE_MAX, DISABLED])
def test_a_model_without_thinking_gets_no_reasoning_fields(profile: str, extra: dict[str, Any]) -> None:
    body = translate_request(make_target(profile, capabilities={"thinking": False}), {**BASE, **extra})
    assert not set(REASONING_KEYS) & set(body)


def test_a_model_without_tools_gets_no_tool_fields() -> None:
    request = {
        **BASE,
        "tools": [{"name": "Read", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
    }
    body = translate_request(make_target("openai", capabilities={"tools": False}), request)
    assert not {"tools", "tool_choice", "parallel_tool_calls"} & set(body)


def test_user_id_sent_as_is_hashed_when_long_and_not_at_all_when_the_profile_says_so() -> None:
    def user(profile: str, user_id: str) -> Any:
        return translate_request(make_target(profile), {**BASE, "metadata": {"user_id": user_id}}).get("user")

    assert user("openai", "short-id") == "short-id"
    long_id = '{"device_id":"' + "ab" * 40 + '","session_id":"s"}'
    hashed = user("openai", long_id)
    assert len(hashed) == 64 and long_id not in hashed and hashed == user("openai", long_id)
    assert user("ollama", "short-id") is None


def test_max_tokens_clamped_only_when_the_model_has_a_limit() -> None:
    assert translate_request(make_target("openai"), {**BASE, "max_tokens": 128000})["max_completion_tokens"] == 128000
    assert translate_request(make_target("vllm", max_tokens=8192), {**BASE, "max_tokens": 128000})["max_tokens"] == 8192


def test_extra_body_merges_nested_objects_last() -> None:
    target = make_target("openai", extra_body={"stream_options": {"include_obfuscation": False}, "seed": 1})
    body = translate_request(target, {**BASE, "stream": True, "seed": 7})
    assert body["stream_options"] == {"include_usage": True, "include_obfuscation": False}
    assert body["seed"] == 1


# --- robustness: whatever JSON arrives, the result is a valid OpenAI body and nothing raises ---------

json_scalars = st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats(allow_nan=False) | st.text(max_size=6)
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
)
block_types = st.sampled_from(
    ["text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking", "tool_reference", "x"]
)
blocks = st.fixed_dictionaries(
    {"type": block_types},
    optional={
        "text": json_values,
        "id": st.text(max_size=4) | json_scalars,
        "name": st.text(max_size=4) | json_scalars,
        "input": json_values,
        "tool_use_id": st.text(max_size=4) | json_scalars,
        "content": json_values | st.lists(st.fixed_dictionaries({"type": block_types, "text": json_values})),
        "is_error": json_scalars,
        "source": json_values | st.fixed_dictionaries({"type": st.sampled_from(["base64", "url", "text"])}),
        "thinking": json_values,
        "signature": json_values,
    },
)
messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "system", "tool", 3]), "content": json_values | st.lists(blocks)}
    )
    | json_values,
    max_size=5,
)
requests = st.fixed_dictionaries(
    {"messages": messages},
    optional={
        "model": json_values,
        "system": json_values | st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": json_values})),
        "max_tokens": json_values,
        "temperature": json_values,
        "top_p": json_values,
        "top_k": json_values,
        "stop_sequences": json_values,
        "stream": json_values,
        "metadata": json_values,
        "tools": json_values | st.lists(st.fixed_dictionaries({"name": json_values, "input_schema": json_values})),
        "tool_choice": json_values | st.fixed_dictionaries({"type": st.sampled_from(["auto", "any", "tool", "none"])}),
        "thinking": json_values | st.fixed_dictionaries({"type": st.sampled_from(["enabled", "adaptive"])}),
        "output_config": json_values,
    },
)


@settings(max_examples=200, deadline=None)
@given(requests, st.sampled_from(["openai", "deepseek", "openrouter", "llamacpp"]))
def test_any_request_gives_a_valid_openai_body(request: dict[str, Any], profile: str) -> None:
    body = translate_request(make_target(profile), request)
    check_request_body(body)


CLOSED = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"],
          "additionalProperties": False}
OPEN = {"type": "object", "properties": {"title": {"type": "string"}, "tags": {"type": "array"}}, "required": ["title"]}


@pytest.mark.parametrize(
    ("profile", "schema", "expected"),
    [
        ("openai", CLOSED, {"name": "output", "schema": CLOSED, "strict": True}),  # enforced
        ("openai", OPEN, {"name": "output", "schema": OPEN, "strict": False}),  # outside the strict subset: said so
        ("openai-compatible", CLOSED, {"name": "output", "schema": CLOSED}),  # the profile claims no strict mode
    ],
)
def test_structured_output_is_strict_where_the_profile_and_schema_allow(
    profile: str, schema: dict[str, Any], expected: dict[str, Any]
) -> None:
    request = {**BASE, "output_config": {"format": {"type": "json_schema", "schema": schema}}}
    body = translate_request(make_target(profile), request)
    assert body["response_format"] == {"type": "json_schema", "json_schema": expected}
