"""Tool-call repair: what a weak model sends as tool arguments, made into what the tool's schema says.

At a tool_use block's end, on the translated Anthropic answer (so every non-Anthropic wire shares it):
1. arguments that are not JSON are parsed leniently (json-repair: single quotes, unquoted keys,
   trailing commas, a missing closing brace, a code fence around the object);
2. a JSON string that holds the object is unwrapped;
3. the object is validated against the tool's `input_schema`; when it fails, only unambiguous
   coercions are tried on top-level properties (`"5"` -> 5 for an integer, `"2.5"` -> 2.5 for a
   number, `"true"`/`"false"` for a boolean, a JSON string holding the array or object a property
   wants), and kept only if the result is valid.
Anything still invalid passes through as the model sent it (parsed when it could be): the client's
own schema check then tells the model. Validators are built once per distinct schema (`Validators`,
held by the server across requests), never per request. json-repair and jsonschema (~60 ms of
imports) are loaded at the first tool call that needs them, not with the server.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from cc_proxy.engine.snapshot import ResolvedModel

RAW_ARGUMENTS_KEY = "_raw_arguments"  # engine.wire.openai_response's marker for arguments it could not parse
MAX_VALIDATORS = 512
_BOOLEANS = {"true": True, "false": False}


class Validators:
    """JSON Schema validators by schema (its canonical JSON), least recently used dropped first."""

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: OrderedDict[bytes, Any] = OrderedDict()  # a Draft202012Validator, or None

    def get(self, schema: Mapping[str, Any]) -> Any:
        """A validator (`is_valid(value)`), or None for a schema that is not valid JSON Schema (no
        repair is judged against it)."""
        key = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # deferred: see above
        from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]

        try:
            Draft202012Validator.check_schema(schema)
            validator = Draft202012Validator(schema)
        except SchemaError:
            validator = None
        self._cache[key] = validator
        if len(self._cache) > MAX_VALIDATORS:
            self._cache.popitem(last=False)
        return validator

    def __len__(self) -> int:
        return len(self._cache)


@dataclass(frozen=True, slots=True)
class Repaired:
    value: Any  # the input to send: a dict when repair worked, else what could be made of the arguments
    repaired: bool  # True when the value differs from what the model sent


class ToolRepair:
    """One request's repair: its tools (schemas looked up by name at the first call), the shared
    validators, and how many calls it repaired."""

    __slots__ = ("_schemas", "_tools", "count", "validators")

    def __init__(self, tools: Any, validators: Validators) -> None:
        self._tools = tools  # the request's `tools`, as the client sent them
        self._schemas: dict[str, Mapping[str, Any]] | None = None
        self.validators = validators
        self.count = 0

    @property
    def schemas(self) -> Mapping[str, Mapping[str, Any]]:
        if self._schemas is None:
            self._schemas = tool_schemas(self._tools)
        return self._schemas

    def repair_raw(self, name: str, raw: str) -> Repaired:
        """Streamed (or unparsed) arguments as text."""
        if not raw.strip():
            return self._checked(name, {}, False)
        try:
            value = orjson.loads(raw)
            changed = False
        except orjson.JSONDecodeError:
            value = _lenient(raw)
            if value is None:
                return Repaired(raw, False)
            changed = True
        return self._checked(name, value, changed)

    def repair_input(self, name: str, value: Any) -> Repaired:
        """A translated non-stream tool_use `input` (possibly the raw-arguments marker)."""
        if isinstance(value, dict) and set(value) == {RAW_ARGUMENTS_KEY} and isinstance(value[RAW_ARGUMENTS_KEY], str):
            found = self.repair_raw(name, value[RAW_ARGUMENTS_KEY])
            return found if found.repaired else Repaired(value, False)
        return self._checked(name, value, False)

    def _checked(self, name: str, value: Any, changed: bool) -> Repaired:
        if isinstance(value, str):  # a JSON string that holds the object
            inner = _json_object(value)
            if inner is not None:
                value, changed = inner, True
        if not isinstance(value, dict):
            return Repaired(value, changed) if changed else Repaired(value, False)
        schema = self.schemas.get(name)
        validator = self.validators.get(schema) if schema is not None else None
        if validator is not None and not validator.is_valid(value):
            coerced = _coerce(value, schema or {})
            if coerced is not None and validator.is_valid(coerced):
                value, changed = coerced, True
        if changed:
            self.count += 1
        return Repaired(value, changed)


def repair_for(request: Mapping[str, Any], target: ResolvedModel, validators: Validators | None) -> ToolRepair | None:
    """The request's tool-call repair, when the target's profile asks for it and there are tools."""
    tools = request.get("tools")
    if not tools or validators is None or not target.provider.profile.repair_tool_calls:
        return None
    return ToolRepair(tools, validators)


def repair_message(message: dict[str, Any], repair: ToolRepair) -> None:
    """Every tool_use block of a translated (non-stream) Anthropic message, repaired in place."""
    content = message.get("content")
    for block in content if isinstance(content, list) else ():
        if isinstance(block, dict) and block.get("type") == "tool_use":
            found = repair.repair_input(str(block.get("name", "")), block.get("input"))
            if found.repaired:
                block["input"] = found.value


def tool_schemas(tools: Any) -> dict[str, Mapping[str, Any]]:
    """`input_schema` of each client tool, by name."""
    out: dict[str, Mapping[str, Any]] = {}
    for tool in tools if isinstance(tools, list) else ():
        if isinstance(tool, dict) and isinstance(tool.get("name"), str) and isinstance(tool.get("input_schema"), dict):
            out[tool["name"]] = tool["input_schema"]
    return out


def _lenient(raw: str) -> dict[str, Any] | None:
    """json-repair's reading of `raw` when it is an object; None when nothing sensible came of it."""
    import json_repair  # deferred: see above

    try:
        value = json_repair.loads(raw)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) and value else None


def _json_object(text: str) -> dict[str, Any] | None:
    stripped = text.strip()
    if not stripped.startswith("{"):
        return None
    try:
        value = orjson.loads(stripped)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _coerce(value: dict[str, Any], schema: Mapping[str, Any]) -> dict[str, Any] | None:
    """Top-level string values the schema types otherwise, converted where only one reading exists."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return None
    out = dict(value)
    changed = False
    for key, item in value.items():
        spec = properties.get(key)
        if not isinstance(item, str) or not isinstance(spec, dict):
            continue
        converted = _convert(item, spec.get("type"))
        if converted is not None:
            out[key] = converted[0]
            changed = True
    return out if changed else None


def _convert(text: str, wanted: Any) -> tuple[Any] | None:
    """(the value) when `text` reads unambiguously as the one JSON type `wanted`; None otherwise."""
    if not isinstance(wanted, str):
        return None  # a union of types: the string may be meant as a string
    stripped = text.strip()
    if wanted == "integer":
        sign = stripped[1:] if stripped[:1] in "+-" else stripped
        return (int(stripped),) if sign.isdigit() and sign.isascii() else None
    if wanted == "number":
        try:
            number = float(stripped)
        except ValueError:
            return None
        if number != number or number in (float("inf"), float("-inf")):
            return None
        return (int(number) if number.is_integer() and "." not in stripped and "e" not in stripped.lower() else number,)
    if wanted == "boolean":
        return (_BOOLEANS[stripped],) if stripped in _BOOLEANS else None
    if wanted in ("object", "array") and stripped[:1] in "{[":
        try:
            parsed = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            return None
        return (parsed,) if isinstance(parsed, dict if wanted == "object" else list) else None
    return None
