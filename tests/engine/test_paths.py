from __future__ import annotations

from typing import Any

import pytest

from cc_proxy.engine.paths import WILDCARD, PathError, delete_path, format_path, parse_path, set_path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metadata.user_id", ("metadata", "user_id")),
        ("tools[*].cache_control", ("tools", WILDCARD, "cache_control")),
        ("messages[-1].content[0]", ("messages", -1, "content", 0)),
        ("a[*][*]", ("a", WILDCARD, WILDCARD)),
        ("x-extra-header", ("x-extra-header",)),
    ],
)
def test_parse_and_format(text: str, expected: tuple[Any, ...]) -> None:
    assert parse_path(text) == expected
    assert format_path(parse_path(text)) == text


@pytest.mark.parametrize(
    ("text", "position"),
    [("", 0), ("a..b", 2), (".a", 0), ("a.", 2), ("a[", 1), ("a[x]", 2), ("[0]", 0), ("a]b", 1), ("a[0]b", 4)],
)
def test_parse_rejects_malformed(text: str, position: int) -> None:
    with pytest.raises(PathError) as err:
        parse_path(text)
    assert err.value.position == position


def test_delete_is_copy_on_write() -> None:
    big = {"text": "x" * 1000}
    data = {"metadata": {"user_id": "u", "keep": 1}, "messages": [big]}
    out = delete_path(data, parse_path("metadata.user_id"))
    assert out == {"metadata": {"keep": 1}, "messages": [big]}
    assert data == {"metadata": {"user_id": "u", "keep": 1}, "messages": [big]}
    assert out["messages"] is data["messages"]  # untouched subtree shared, not copied


def test_delete_missing_returns_same_object() -> None:
    data = {"a": {"b": 1}, "l": [{"x": 1}]}
    assert delete_path(data, parse_path("a.c")) is data
    assert delete_path(data, parse_path("z.y")) is data
    assert delete_path(data, parse_path("l[5].x")) is data
    assert delete_path(data, parse_path("l[*].y")) is data
    assert delete_path(data, parse_path("a.b.c")) is data  # through a non-object


def test_delete_wildcard_and_index() -> None:
    data = {"tools": [{"name": "a", "cache_control": {}}, {"name": "b"}], "l": [1, 2, 3]}
    out = delete_path(data, parse_path("tools[*].cache_control"))
    assert out["tools"] == [{"name": "a"}, {"name": "b"}]
    assert out["tools"][1] is data["tools"][1]
    assert delete_path(data, parse_path("l[-1]"))["l"] == [1, 2]
    assert delete_path(data, parse_path("l[*]"))["l"] == []


def test_set_creates_objects_and_copies_values() -> None:
    literal = {"k": [1]}
    data: dict[str, Any] = {"messages": []}
    out = set_path(data, parse_path("metadata.extra.v"), lambda: {"k": [1]})
    assert out == {"messages": [], "metadata": {"extra": {"v": literal}}}
    assert data == {"messages": []}


def test_set_wildcard_writes_fresh_value_per_element() -> None:
    data = {"tools": [{"name": "a"}, {"name": "b"}]}
    out = set_path(data, parse_path("tools[*].cache_control"), lambda: {"type": "ephemeral"})
    assert [t["cache_control"] for t in out["tools"]] == [{"type": "ephemeral"}] * 2
    assert out["tools"][0]["cache_control"] is not out["tools"][1]["cache_control"]
    assert "cache_control" not in data["tools"][0]


def test_set_never_creates_list_elements_or_replaces_scalars() -> None:
    data = {"a": "scalar", "l": [1]}
    assert set_path(data, parse_path("a.b"), lambda: 1) is data
    assert set_path(data, parse_path("l[3]"), lambda: 1) is data
    assert set_path(data, parse_path("missing[0].x"), lambda: 1) is data
    assert set_path(data, parse_path("l[0]"), lambda: 9)["l"] == [9]
