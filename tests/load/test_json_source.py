"""The position-tracking JSON parser: same values as the stdlib, exact positions, located syntax errors,
no recursion on deep input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cc_proxy.engine.json_source import JsonSyntaxError, parse_json

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(json_values, st.sampled_from([None, 0, 2]), st.booleans())
def test_values_match_the_stdlib(value: Any, indent: int | None, ascii_only: bool) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    assert parse_json(text).value == json.loads(text)


def test_positions_of_members_and_elements() -> None:
    text = '{\n  "a": [1, {"x-y": true}],\n  "é": {"b": null}\n}'
    parsed = parse_json(text)
    assert parsed.locate("$") == (1, 1)
    assert parsed.locate("$.a") == (2, 3)
    assert parsed.locate("$.a[0]") == (2, 9)
    assert parsed.locate("$.a[1]['x-y']") == (2, 13)
    assert parsed.locate("$['é'].b") == (3, 9)
    # a path inside a value that was not recorded falls back to its nearest recorded ancestor
    assert parsed.locate("$.a[1]['x-y'].deeper[3]") == (2, 13)


def test_crlf_line_endings_count_lines_once() -> None:
    parsed = parse_json('{\r\n"a": 1,\r\n"b": 2\r\n}')
    assert parsed.locate("$.b") == (3, 1)


def test_duplicate_keys_are_collected_and_the_last_wins() -> None:
    parsed = parse_json('{"a": 1, "b": {"c": 1, "c": 2}, "a": 3}')
    assert parsed.value == {"a": 3, "b": {"c": 2}}
    assert [(d.json_path, d.key) for d in parsed.duplicates] == [("$.b.c", "c"), ("$.a", "a")]


@pytest.mark.parametrize(
    ("text", "code", "offset", "message_part"),
    [
        ("", "json-empty", 0, "empty"),
        ("  \n ", "json-empty", 4, "empty"),
        ('{"rules": [', "json-truncated", 11, "end of file"),
        ('{"a": "b', "json-truncated", 6, "unterminated string"),
        ('{"a": 1,}', "json-syntax", 8, "trailing comma"),
        ("[1, 2,]", "json-syntax", 6, "trailing comma"),
        ('{"a": 1 "b": 2}', "json-syntax", 8, "missing ','"),
        ('{"a": // note\n 1}', "json-syntax", 6, "comments"),
        ("{'a': 1}", "json-syntax", 1, "double quotes"),
        ('{"a": tru}', "json-syntax", 6, "expected a value"),
        ('{"a": "x\ny"}', "json-syntax", 8, "control character"),
        ('{"a": "\\q"}', "json-syntax", 7, "invalid escape"),
        ('{"a": 1} {}', "json-syntax", 9, "after the JSON value"),
        ('{"a" 1}', "json-syntax", 5, "':'"),
        ("[" + "1" * 101 + "]", "json-syntax", 1, "number longer"),
        ("NaN", "json-syntax", 0, "expected a value"),
    ],
)
def test_syntax_errors_are_located(text: str, code: str, offset: int, message_part: str) -> None:
    with pytest.raises(JsonSyntaxError) as caught:
        parse_json(text)
    assert (caught.value.code, caught.value.offset) == (code, offset)
    assert message_part in caught.value.message


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_five_thousand_levels_is_an_error_not_a_recursion_error(opener: str) -> None:
    with pytest.raises(JsonSyntaxError) as caught:
        parse_json(opener * 5000)
    assert caught.value.code == "json-too-deep"


def test_the_depth_limit_is_exact() -> None:
    assert parse_json("[" * 100 + "]" * 100).value is not None
    with pytest.raises(JsonSyntaxError):
        parse_json("[" * 101 + "]" * 101)
