"""Response mappings as tables: arguments, ids, stop reasons, usage, errors."""

from __future__ import annotations

from typing import Any

import pytest

from cc_proxy.engine.errors import ProxyError
from cc_proxy.engine.wire.openai_response import (
    RAW_ARGUMENTS_KEY,
    error_fields,
    parse_arguments,
    stop_reason_of,
    tool_id,
    translate_response,
    usage_of,
)
from tests.openai.support import make_ctx, make_target


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ("", {}),
        ("  \n", {}),
        (None, {}),
        ({"a": 1}, {"a": 1}),
        ("[1]", {RAW_ARGUMENTS_KEY: "[1]"}),
        ('"text"', {RAW_ARGUMENTS_KEY: '"text"'}),
        ('{"a": 1', {RAW_ARGUMENTS_KEY: '{"a": 1'}),
        ("{a: 1}", {RAW_ARGUMENTS_KEY: "{a: 1}"}),
        (42, {RAW_ARGUMENTS_KEY: "42"}),
    ],
)
def test_parse_arguments(raw: Any, expected: dict[str, Any]) -> None:
    assert parse_arguments(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("call_abc-1", "call_abc-1"), ("functions.Bash:0", "functions_Bash_0"), ("", "toolu_0001"), (None, "toolu_0001")],
)
def test_tool_ids(raw: Any, expected: str) -> None:
    assert tool_id(raw, make_ctx(make_target())) == expected


@pytest.mark.parametrize(
    ("finish", "has_tools", "expected"),
    [
        ("stop", False, "end_turn"),
        ("stop", True, "tool_use"),
        ("tool_calls", True, "tool_use"),
        ("tool_calls", False, "end_turn"),  # decided from content: no call, nothing to run
        ("function_call", True, "tool_use"),
        ("length", True, "max_tokens"),
        ("content_filter", False, "refusal"),
        (None, False, "end_turn"),
        ("eos", False, "end_turn"),
    ],
)
def test_stop_reasons(finish: Any, has_tools: bool, expected: str) -> None:
    assert stop_reason_of(finish, has_tools) == expected


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (None, (7, 0, 0, 0)),
        ({"prompt_tokens": 100, "completion_tokens": 5}, (100, 0, 0, 5)),
        (
            {"prompt_tokens": 100, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 60}},
            (40, 0, 60, 5),
        ),
        (
            {"prompt_tokens": 100, "prompt_tokens_details": {"cached_tokens": 60, "cache_write_tokens": 30}},
            (10, 30, 60, 0),
        ),
        ({"prompt_tokens": 100, "prompt_cache_hit_tokens": 90, "prompt_cache_miss_tokens": 10}, (10, 0, 90, 0)),
        ({"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": 60}}, (0, 0, 60, 0)),  # never negative
        ({"prompt_tokens": "12", "completion_tokens": -3}, (0, 0, 0, 0)),
    ],
)
def test_usage(usage: Any, expected: tuple[int, int, int, int]) -> None:
    got = usage_of(usage, 7)
    keys = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")
    assert tuple(got[k] for k in keys) == expected


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (
            {"message": "too long", "type": "invalid_request_error", "code": "context_length_exceeded"},
            "invalid_request_error",
        ),
        ({"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}, "rate_limit_error"),
        ({"message": "no money", "type": "insufficient_quota", "code": None}, "rate_limit_error"),
        ({"message": "bad key", "code": "invalid_api_key"}, "authentication_error"),
        ({"message": "?", "type": "weird"}, "api_error"),
        ("plain string", "api_error"),
    ],
)
def test_error_fields(error: Any, kind: str) -> None:
    assert error_fields(error)[0] == kind


def test_long_error_text_is_capped() -> None:
    assert len(error_fields({"message": "x" * 10_000})[1]) == 2000


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"message": "model overloaded", "type": "server_error"}},
        {"choices": []},
        {"object": "chat.completion"},
        {"choices": ["not a choice"]},
    ],
)
def test_answers_that_are_not_messages_raise_proxy_errors(body: dict[str, Any]) -> None:
    with pytest.raises(ProxyError) as info:
        translate_response(body, make_ctx(make_target()))
    assert info.value.status == 502
    assert info.value.body()["type"] == "error"
