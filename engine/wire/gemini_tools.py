"""Anthropic tool definitions and tool_choice -> Gemini `tools` / `toolConfig`.

Only client tools translate (no `type`, or `type: custom`); server tools (web_search, code_execution...)
run at Anthropic only and are dropped. A schema goes as `parametersJsonSchema` (JSON Schema as is, minus
the profile's `schema_drop_keywords`) or as `parameters`, Gemini's OpenAPI-3 `Schema` subset: any other
key there fails the whole request with 400 `Unknown name "<key>" ... Cannot find field`, so `parameters`
keeps only the fields of google-genai's `types.Schema` (never filtering inside a `properties` map, whose
keys are property names), inlines `$ref` from `$defs`/`definitions` (a recursive one becomes a plain
object where it recurs), and rewrites what has an equivalent: `const` -> `enum` (strings),
`type: [T, "null"]` -> `type` + `nullable`, `oneOf` -> `anyOf`, `exclusiveMinimum/Maximum` ->
`minimum/maximum` (numbers), a one-element `allOf` -> its member.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cc_proxy.engine.profiles import Profile
from cc_proxy.engine.wire.openai_tools import clean_tool_schema

# The fields of the OpenAPI `Schema` object Gemini's `parameters` accepts (google-genai types.Schema).
SCHEMA_FIELDS = frozenset(
    {
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "items",
        "maxItems",
        "minItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "example",
        "anyOf",
        "propertyOrdering",
        "default",
        "minimum",
        "maximum",
    }
)
_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object"})
# The only `format` values Gemini takes, per type (others, e.g. "uri" or "email", are 400s).
_FORMATS: dict[str, tuple[str, ...]] = {
    "string": ("enum", "date-time"),
    "number": ("float", "double"),
    "integer": ("int32", "int64"),
}


def tool_declarations(tools: Any, profile: Profile) -> list[dict[str, Any]]:
    declarations: list[dict[str, Any]] = []
    for tool in tools if isinstance(tools, list) else ():
        if not isinstance(tool, dict) or tool.get("type") not in (None, "custom"):
            continue
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            continue
        declaration: dict[str, Any] = {"name": name}
        if isinstance(tool.get("description"), str):
            declaration["description"] = tool["description"]
        schema = tool.get("input_schema")
        schema = schema if isinstance(schema, dict) else {}
        if profile.tool_schema_field == "parametersJsonSchema":
            cleaned = clean_tool_schema(schema, frozenset(profile.schema_drop_keywords))
            declaration["parametersJsonSchema"] = cleaned if "type" in cleaned else {"type": "object", **cleaned}
        else:
            params = openapi_schema(schema)
            if params.get("type") == "object" and not params.get("properties"):
                params = {}  # an object without properties is a 400 there: the call takes no arguments
            if params:
                declaration["parameters"] = params
        declarations.append(declaration)
    return declarations


def tool_config(choice: Any, names: set[str]) -> dict[str, Any] | None:
    """`toolConfig` for an Anthropic tool_choice (`disable_parallel_tool_use` has no Gemini equivalent)."""
    if not isinstance(choice, dict):
        return None
    kind = choice.get("type")
    if kind == "auto":
        mode: dict[str, Any] = {"mode": "AUTO"}
    elif kind == "any":
        mode = {"mode": "ANY"}
    elif kind == "none":
        mode = {"mode": "NONE"}
    elif kind == "tool" and choice.get("name") in names:
        mode = {"mode": "ANY", "allowedFunctionNames": [choice["name"]]}
    else:
        return None  # a named tool that was dropped (a server tool): let the model decide
    return {"functionCallingConfig": mode}


def openapi_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    defs: dict[str, Any] = {}
    for key in ("$defs", "definitions"):
        if isinstance(schema.get(key), dict):
            defs.update(schema[key])
    return _convert(schema, defs, frozenset())


def _convert(node: Mapping[str, Any], defs: Mapping[str, Any], inside: frozenset[str]) -> dict[str, Any]:
    """`inside`: the `$ref`s being inlined around this node (one recurring is cut: Gemini has no refs)."""
    ref = node.get("$ref")
    if isinstance(ref, str):
        target = defs.get(ref.rsplit("/", 1)[-1]) if ref.startswith("#/") else None
        if not isinstance(target, dict) or ref in inside:
            return {"type": "object"}
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _convert(merged, defs, inside | {ref})
    all_of = node.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
        node = {**all_of[0], **{k: v for k, v in node.items() if k != "allOf"}}
    out: dict[str, Any] = {}
    kind = node.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k in _TYPES]
        if "null" in kind:
            out["nullable"] = True
        if len(kinds) == 1:
            out["type"] = kinds[0]
        elif kinds:
            out["anyOf"] = [{"type": k} for k in kinds]
    elif isinstance(kind, str) and kind in _TYPES:
        out["type"] = kind
    elif kind == "null":
        out["nullable"] = True
    for key, value in node.items():
        if key == "type":
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _convert(sub, defs, inside) for name, sub in value.items() if isinstance(sub, dict)}
        elif key == "items" and isinstance(value, dict):
            out[key] = _convert(value, defs, inside)
        elif key in ("anyOf", "oneOf") and isinstance(value, list):
            members = [_convert(m, defs, inside) for m in value if isinstance(m, dict)]
            nulls = [m for m in members if m == {"nullable": True}]
            members = [m for m in members if m != {"nullable": True}]
            if nulls:
                out["nullable"] = True
            if len(members) == 1 and "anyOf" not in out:
                out.update({k: v for k, v in members[0].items() if k not in out})
            elif members:
                out["anyOf"] = members
        elif key == "const" and "enum" not in node:
            if isinstance(value, str):
                out["enum"] = [value]
                out.setdefault("type", "string")
        elif key == "enum" and isinstance(value, list):
            strings = [v for v in value if isinstance(v, str)]
            if strings and len(strings) == len([v for v in value if v is not None]):
                out["enum"] = strings  # Gemini enums are strings only
                out.setdefault("type", "string")
                if None in value:
                    out["nullable"] = True
        elif key == "exclusiveMinimum" and _number(value) and "minimum" not in node:
            out["minimum"] = value
        elif key == "exclusiveMaximum" and _number(value) and "maximum" not in node:
            out["maximum"] = value
        elif key == "format":
            if value in _FORMATS.get(str(out.get("type")), ()):
                out[key] = value
        elif key == "required" and isinstance(value, list):
            out[key] = [r for r in value if isinstance(r, str)]
        elif key in SCHEMA_FIELDS and key not in out:
            out[key] = value
    if out.get("properties") == {}:
        del out["properties"]  # "properties: should be non-empty for OBJECT type"
    if "required" in out:
        props = out.get("properties")
        out["required"] = [r for r in out["required"] if isinstance(props, dict) and r in props]
        if not out["required"]:
            del out["required"]
    return out


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
