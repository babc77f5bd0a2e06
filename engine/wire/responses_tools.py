"""Anthropic tools and tool_choice -> OpenAI Responses function tools, and the strict-mode check.

The Responses API's function tool is flat (`{"type": "function", "name", "description", "parameters",
"strict"}`) where Chat Completions nests it under `function`; which tools translate and how their
schemas are cleaned is the Chat path's (`engine.wire.openai_tools`).

`strict: true` makes OpenAI constrain the arguments to the schema, but it 400s on a schema outside the
strict-mode subset: so a tool is strict only when the profile asks for it AND its schema qualifies (see
`strict_qualifies`), else `strict: false` (the field is required by the API).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cc_proxy.engine.wire.openai_tools import tool_definitions

# Keywords of OpenAI's strict-mode JSON Schema subset (Structured Outputs, "supported schemas"). A
# schema using any other keyword (minLength, oneOf, allOf, patternProperties, default...) is not strict.
_STRICT_KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf",
        "$ref", "$defs", "definitions", "description", "title", "pattern", "format", "multipleOf",
        "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "minItems", "maxItems",
    }
)  # fmt: skip
_SCHEMA_MAPS = ("properties", "$defs", "definitions")


def function_tools(tools: Any, drop_keywords: tuple[str, ...], strict: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for chat_tool in tool_definitions(tools, drop_keywords):
        function = chat_tool["function"]
        parameters = function["parameters"]
        tool: dict[str, Any] = {"type": "function", "name": function["name"]}
        if "description" in function:
            tool["description"] = function["description"]
        tool["parameters"] = parameters
        tool["strict"] = strict and strict_qualifies(parameters)
        out.append(tool)
    return out


def strict_qualifies(schema: Any) -> bool:
    """True when `schema` is inside the strict-mode subset: an object at the root, every object closed
    (`additionalProperties: false`) with every property required, only supported keywords."""
    return isinstance(schema, dict) and schema.get("type") == "object" and _qualifies(schema)


def _qualifies(node: Any) -> bool:
    if not isinstance(node, dict):
        return False
    if not _STRICT_KEYWORDS.issuperset(node):
        return False
    types = node.get("type")
    if types == "object" or (isinstance(types, list) and "object" in types) or "properties" in node:
        properties = node.get("properties", {})
        required = node.get("required", [])
        if node.get("additionalProperties") is not False or not isinstance(properties, dict):
            return False
        if not isinstance(required, list) or set(required) != set(properties):
            return False
    for key in _SCHEMA_MAPS:
        sub = node.get(key)
        if sub is not None and not (isinstance(sub, dict) and all(_qualifies(s) for s in sub.values())):
            return False
    items = node.get("items")
    if items is not None and not _qualifies(items):
        return False
    options = node.get("anyOf")
    return options is None or (isinstance(options, list) and all(_qualifies(o) for o in options))


def tool_choice(choice: Mapping[str, Any], names: set[str]) -> str | dict[str, Any] | None:
    """Anthropic tool_choice -> Responses `tool_choice`; None: leave it to the model (a named tool that
    was dropped, e.g. a server tool)."""
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
            return {"type": "function", "name": name}
    return None
