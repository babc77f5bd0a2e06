"""Anthropic tool definitions and tool_choice -> OpenAI `tools` / `tool_choice`.

Only client tools translate (no `type`, or `type: custom`); server tools (web_search, code_execution...)
run at Anthropic only and are dropped, never forwarded as a schema-less function. Anthropic-only tool
fields (`cache_control`, `defer_loading`, `strict`, `eager_input_streaming`, `input_examples`) are not
copied. JSON Schema keywords a provider rejects are removed per profile (`schema_drop_keywords`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def tool_definitions(tools: Any, drop_keywords: tuple[str, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for tool in tools if isinstance(tools, list) else ():
        if not isinstance(tool, dict) or tool.get("type") not in (None, "custom"):
            continue  # server tools (web_search, code_execution...) run at Anthropic only
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            continue
        schema = tool.get("input_schema")
        params = clean_schema(schema, frozenset(drop_keywords)) if isinstance(schema, dict) else {}
        if "type" not in params:
            params = {"type": "object", "properties": {}, **params}
        function: dict[str, Any] = {"name": name}
        if isinstance(tool.get("description"), str):
            function["description"] = tool["description"]
        function["parameters"] = params
        out.append({"type": "function", "function": function})
    return out


def clean_schema(node: Any, drop: frozenset[str]) -> Any:
    """Remove `drop` keywords everywhere except as property names (keys of `properties`-like maps)."""
    if isinstance(node, list):
        return [clean_schema(item, drop) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in drop:
            if key == "const" and "enum" not in node:
                out["enum"] = [value]  # same constraint in a keyword every dialect knows
            continue
        if key in ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas") and isinstance(
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
