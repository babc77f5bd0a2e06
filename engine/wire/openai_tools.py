"""Anthropic tool definitions and tool_choice -> OpenAI `tools` / `tool_choice`.

Only client tools translate (no `type`, or `type: custom`); server tools (web_search, code_execution...)
run at Anthropic only and are dropped, never forwarded as a schema-less function. Anthropic-only tool
fields (`cache_control`, `defer_loading`, `strict`, `eager_input_streaming`, `input_examples`) are not
copied. JSON Schema keywords a provider rejects are removed per profile (`schema_drop_keywords`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson


def tool_definitions(tools: Any, drop_keywords: tuple[str, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for tool in tools if isinstance(tools, list) else ():
        if not isinstance(tool, dict) or tool.get("type") not in (None, "custom"):
            continue  # server tools (web_search, code_execution...) run at Anthropic only
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            continue
        schema = tool.get("input_schema")
        params = clean_tool_schema(schema, frozenset(drop_keywords)) if isinstance(schema, dict) else {}
        if "type" not in params:
            params = {"type": "object", "properties": {}, **params}
        function: dict[str, Any] = {"name": name}
        if isinstance(tool.get("description"), str):
            function["description"] = tool["description"]
        function["parameters"] = params
        out.append({"type": "function", "function": function})
    return out


def clean_tool_schema(schema: dict[str, Any], drop: frozenset[str]) -> dict[str, Any]:
    """`clean_schema`, without walking the tree when every `drop` keyword in it is a top-level key (Claude
    Code's schemas carry `$schema` only there): a key K occurs in the compact JSON text as `"K":`, so
    equal counts in the text and at the top level prove there is nothing deeper to remove. The nested
    values are then shared with the request, not copied (nothing mutates them)."""
    try:
        text = orjson.dumps(schema)
    except orjson.JSONEncodeError:  # nested past orjson's limit: the plain walk decides
        cleaned: dict[str, Any] = clean_schema(schema, drop)
        return cleaned
    for key in drop:
        found = text.count(orjson.dumps(key) + b":")
        if found and found != (1 if key in schema else 0):
            deep: dict[str, Any] = clean_schema(schema, drop)
            return deep
    return _clean_dict(schema, drop, deep=False)


def clean_schema(node: Any, drop: frozenset[str]) -> Any:
    """Remove `drop` keywords everywhere except as property names (keys of `properties`-like maps)."""
    if isinstance(node, list):
        return [clean_schema(item, drop) for item in node]
    if not isinstance(node, dict):
        return node
    return _clean_dict(node, drop, deep=True)


def _clean_dict(node: dict[str, Any], drop: frozenset[str], *, deep: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in drop:
            if key == "const" and "enum" not in node:
                out["enum"] = [value]  # same constraint in a keyword every dialect knows
            continue
        if not deep:
            out[key] = value
        elif key in ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas") and isinstance(
            value, dict
        ):
            out[key] = {name: clean_schema(sub, drop) for name, sub in value.items()}
        else:
            out[key] = clean_schema(value, drop)
    return out


def tool_choice(choice: Mapping[str, Any], names: set[str]) -> str | dict[str, Any] | None:
    kind = choice.get("type")
    if kind == "auto":
        return "auto"
    if kind == "any":
        return "required"
    if kind == "none":
        return "none"
    if kind == "tool":
        name = choice.get("name")
        if isinstance(name, str) and name in names:
            return {"type": "function", "function": {"name": name}}
        return None  # the named tool was dropped (a server tool): let the model decide
    return None
