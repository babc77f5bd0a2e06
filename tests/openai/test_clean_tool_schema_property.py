"""clean_tool_schema (the top-level fast path) removes exactly what the full walk removes, on random
schemas whose keys, property names and string values collide with the dropped keywords."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cc_proxy.engine.wire.openai_tools import clean_schema, clean_tool_schema

KEYS = ["$schema", "const", "enum", "type", "properties", "items", "format", "x\"$schema", "description"]
leaf = st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from([*KEYS, '"$schema":', '\\"const\\":'])
schemas = st.recursive(
    leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4),
    max_leaves=25,
)
DROPS = st.frozensets(st.sampled_from(["$schema", "const", "format", 'we"ird']), max_size=3)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), schemas, max_size=5), DROPS)
def test_fast_path_equals_full_walk(schema: dict[str, Any], drop: frozenset[str]) -> None:
    assert clean_tool_schema(schema, drop) == clean_schema(schema, drop)


def test_claude_code_shape_keeps_nested_values() -> None:
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
              "properties": {"$schema": {"type": "string"}, "path": {"type": "string", "format": "uri"}}}
    assert clean_tool_schema(schema, frozenset({"$schema"})) == {
        "type": "object",
        "properties": {"$schema": {"type": "string"}, "path": {"type": "string", "format": "uri"}},
    }
    assert clean_tool_schema(schema, frozenset({"format"}))["properties"]["path"] == {"type": "string"}
