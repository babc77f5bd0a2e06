"""JSON Schema validation errors -> located, human ConfigProblems.

jsonschema reports in schema terms ("5 is not valid under any of the given schemas"); a user wants
"expected a string or an object, got integer" at the right line, and the nearest valid key for a typo.
Union errors descend into the one branch whose type fits the value, so the message is about the
actual mistake inside it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # jsonschema (~60 ms of imports) is loaded only when a document is invalid
    from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]

from cc_proxy.engine.config_types import COUNT_PATTERN, URL_PATTERN
from cc_proxy.engine.json_source import index_path, key_path
from cc_proxy.engine.suggest import did_you_mean

# (json_path, code, message, point_at_key)
Finding = tuple[str, str, str, bool]

# A URL may carry a key (`?key=...`): its value is never echoed.
_URL_PATTERN = URL_PATTERN
_PATTERN_HINTS = {
    COUNT_PATTERN: 'is not a number or a shorthand like "8k", "200K", "1M", "32MiB"',
    _URL_PATTERN: 'expected an http(s) URL without query or fragment, e.g. "https://api.example.com/v1"',
    r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$": "is not a valid rule id (letters, digits and _ . : / -)",
    r"^(/[^/?#\s]+)*$": 'is not a path prefix like "/anthropic" (leading slash, no trailing slash)',
}
_TYPE_NAMES = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}
_REWRITE_ONLY = frozenset({"route", "target", "provider", "format", "upstream_model"})
_GOT_NAMES = {**_TYPE_NAMES, "boolean": "a boolean"}


def json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "null"


def _fits(value: Any, type_: str) -> bool:
    actual = json_type(value)
    return actual == type_ or (type_ == "number" and actual == "integer")


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _path_of(error: ValidationError) -> str:
    path = "$"
    for part in error.absolute_path:
        path = index_path(path, part) if isinstance(part, int) else key_path(path, str(part))
    return path


class SchemaChecker:
    """Validates one kind of document against its (generated) schema. The schema may be given as a
    factory: it is then generated, and jsonschema imported, only when a document needs explaining."""

    def __init__(self, schema: Mapping[str, Any] | Callable[[], Mapping[str, Any]]) -> None:
        self._source = schema
        self._loaded: Mapping[str, Any] | None = None if callable(schema) else schema

    @property
    def _schema(self) -> Mapping[str, Any]:
        if self._loaded is None:
            assert callable(self._source)
            self._loaded = self._source()
        return self._loaded

    def findings(self, instance: Any) -> list[Finding]:
        from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # deferred: see imports

        validator = Draft202012Validator(self._schema)
        out: list[Finding] = []
        for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path))):
            out.extend(self._explain(error))
        unique: dict[tuple[str, str, str], Finding] = {}
        for finding in out:
            unique.setdefault(finding[:3], finding)
        return list(unique.values())

    def _resolve(self, schema: Any) -> Mapping[str, Any]:
        if isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str):
            name = schema["$ref"].rsplit("/", 1)[-1]
            resolved: Mapping[str, Any] = self._schema.get("$defs", {}).get(name, {})
            return resolved
        return schema if isinstance(schema, Mapping) else {}

    def _branch_type(self, branch: Any) -> str | None:
        resolved = self._resolve(branch)
        type_ = resolved.get("type")
        return type_ if isinstance(type_, str) else None

    def _explain(self, error: ValidationError) -> Iterator[Finding]:
        path, kind, value, instance = _path_of(error), error.validator, error.validator_value, error.instance
        handler = _HANDLERS.get(str(kind))
        if handler is not None:
            yield from handler(self, error, path, value, instance)
            return
        yield path, "invalid-value", _generic(error), False

    # --- handlers ---------------------------------------------------------------------------------------------

    def _additional(self, error: ValidationError, path: str, value: Any, instance: Any) -> Iterator[Finding]:
        known = list(error.schema.get("properties", {}))
        routing_when = error.schema.get("title") == "RoutingWhen"
        for key in instance if isinstance(instance, dict) else ():
            if key in known:
                continue
            if routing_when and key in _REWRITE_ONLY:
                message = f"{key!r} is known only after routing: use it in rewrite rules"
                yield key_path(path, key), "rewrite-only-condition", message, True
            else:
                yield key_path(path, key), "unknown-key", f"unknown key {key!r}{did_you_mean(key, known)}", True

    def _required(self, error: ValidationError, path: str, value: Any, instance: Any) -> Iterator[Finding]:
        for key in value:
            if isinstance(instance, dict) and key not in instance:
                yield path, "missing-key", f"missing required key {key!r}", False

    def _type(self, error: ValidationError, path: str, value: Any, instance: Any) -> Iterator[Finding]:
        expected = [value] if isinstance(value, str) else list(value)
        wanted = " or ".join(_TYPE_NAMES.get(t, t) for t in expected)
        yield path, "wrong-type", f"expected {wanted}, got {_GOT_NAMES[json_type(instance)]}", False

    def _enum(self, error: ValidationError, path: str, value: Any, instance: Any) -> Iterator[Finding]:
        options = [value] if error.validator == "const" else list(value)
        listed = ", ".join(_short(o) for o in options)
        hint = did_you_mean(instance, [o for o in options if isinstance(o, str)]) if isinstance(instance, str) else ""
        yield path, "invalid-value", f"{_short(instance)} is not one of {listed}{hint}", False

    def _pattern(self, error: ValidationError, path: str, value: Any, instance: Any) -> Iterator[Finding]:
        if value == _URL_PATTERN:
            yield path, "invalid-value", _PATTERN_HINTS[value], False
            return
        hint = _PATTERN_HINTS.get(value, f"does not match the pattern {value}")
        yield path, "invalid-value", f"{_short(instance)} {hint}", False

    def _bounds(self, error: ValidationError, path: str, value: Any, instance: Any) -> Iterator[Finding]:
        messages = {
            "minimum": f"must be at least {value}",
            "maximum": f"must be at most {value}",
            "exclusiveMinimum": f"must be greater than {value}",
            "exclusiveMaximum": f"must be less than {value}",
            "minLength": "must not be empty" if value == 1 else f"must be at least {value} characters",
            "maxLength": f"must be at most {value} characters",
            "minItems": "must not be empty" if value == 1 else f"needs at least {value} items",
            "minProperties": "must not be empty" if value == 1 else f"needs at least {value} keys",
        }
        yield path, "out-of-range", f"{_short(instance)} {messages.get(str(error.validator), _generic(error))}", False

    def _union(self, error: ValidationError, path: str, value: Any, instance: Any) -> Iterator[Finding]:
        branches = list(value)
        required_only: list[list[str]] = [
            list(b["required"]) for b in branches if isinstance(b, Mapping) and set(b) == {"required"}
        ]
        if len(required_only) == len(branches) and isinstance(instance, dict):
            keys = [k for req in required_only for k in req]
            present = [k for k in keys if k in instance]
            options = ", ".join(repr(k) for k in keys)
            if error.validator == "oneOf" and len(present) > 1:
                given = " and ".join(repr(k) for k in present)
                yield path, "conflicting-keys", f"has {given}; use exactly one of {options}", False
            else:
                many = "one of" if error.validator == "oneOf" else "at least one of"
                yield path, "missing-key", f"needs {many} {options}", False
            return
        fitting = [i for i, b in enumerate(branches) if (t := self._branch_type(b)) is None or _fits(instance, t)]
        if len(fitting) == 1:
            inner = [e for e in error.context or () if list(e.relative_schema_path)[:1] == [fitting[0]]]
            if inner:
                for sub in inner:
                    yield from self._explain(sub)
                return
        types = [t for b in branches if (t := self._branch_type(b)) is not None]
        if types and not fitting:
            wanted = " or ".join(dict.fromkeys(_TYPE_NAMES.get(t, t) for t in types))
            yield path, "wrong-type", f"expected {wanted}, got {_GOT_NAMES[json_type(instance)]}", False
            return
        yield path, "invalid-value", _generic(error), False


def _generic(error: ValidationError) -> str:
    """jsonschema's own messages quote the value, which may be a secret: name the rule instead."""
    return f"does not satisfy the schema's {error.validator!r} rule"


_Handler = Callable[[SchemaChecker, "ValidationError", str, Any, Any], Iterable[Finding]]
_HANDLERS: dict[str, _Handler] = {
    "additionalProperties": SchemaChecker._additional,
    "required": SchemaChecker._required,
    "type": SchemaChecker._type,
    "enum": SchemaChecker._enum,
    "const": SchemaChecker._enum,
    "pattern": SchemaChecker._pattern,
    **dict.fromkeys(
        (
            "minimum",
            "maximum",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "minLength",
            "maxLength",
            "minItems",
            "minProperties",
        ),
        SchemaChecker._bounds,
    ),
    "anyOf": SchemaChecker._union,
    "oneOf": SchemaChecker._union,
}
