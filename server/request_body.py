"""Parse and type-check a Messages request body: only the fields the proxy reads or translates.

Unknown fields and betas are never a reason for a 400 (Claude Code drops features one by one on 400s);
they are forwarded as they are to Anthropic-format targets.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from cc_proxy.engine.errors import ProxyError
from cc_proxy.server.errors import bad_request

MAX_DEPTH = 254  # nested arrays and objects orjson serializes (its limit): what the proxy can forward


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """orjson rejects empty input, NaN, lone surrogates, invalid UTF-8 and nesting past 1024 levels;
    a key given twice in one object is refused too (reliability C3)."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise bad_request(f"request body must be a JSON object, not {_kind(body)}")
    _refuse_duplicate_keys(raw, body)
    return body


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_duplicate_keys(raw: bytes, body: dict[str, Any]) -> None:
    """Parsers disagree on a duplicate key (orjson keeps the last, others the first or refuse), so the
    proxy would route one request and the upstream read another.

    Fast path: bytes that are exactly orjson's serialization of what was parsed hold no duplicate (a
    dict's keys are unique). Claude Code's JSON.stringify and the SDKs' compact json.dumps produce just
    that. It costs one serialization, and leaves each string's UTF-8 cached in it, so the upstream body
    serialized next is ~5x cheaper: ~20 us net on a 126 KB request. Anything else (pretty-printed,
    escaped non-ASCII, exponents) is scanned by the standard parser with a per-object check (~0.3 ms)."""
    try:
        if orjson.dumps(body) == raw:
            return
    except orjson.JSONEncodeError:
        # orjson reads 1024 levels but writes only MAX_DEPTH (and parsed JSON holds nothing else it
        # cannot write: integers past 64 bits are read as floats): such a body could never be forwarded.
        raise bad_request(f"request body is nested too deeply: at most {MAX_DEPTH} levels") from None
    try:
        json.loads(raw, object_pairs_hook=_unique_pairs)
    except _DuplicateKey as dup:
        key = dup.key if len(dup.key) <= 64 else dup.key[:64] + "..."
        raise bad_request(
            f"request body has the key {orjson.dumps(key).decode()} twice in one object: give each key once"
        ) from None
    except RecursionError:  # orjson allows 1024 levels, the standard parser fewer
        raise bad_request("request body is nested too deeply") from None


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen.add(key)
    return dict(pairs)


def check_messages_request(body: dict[str, Any], *, need_max_tokens: bool = False) -> None:
    """Raise a 400 naming the first field whose type the proxy cannot work with."""
    model = body.get("model")
    if model is None:
        raise bad_request("model: field required")
    if not isinstance(model, str) or not model:
        raise bad_request(f"model: expected a non-empty string, got {_kind(model)}")
    messages = body.get("messages")
    if messages is None:
        raise bad_request("messages: field required")
    if not isinstance(messages, list):
        raise bad_request(f"messages: expected a list, got {_kind(messages)}")
    for i, message in enumerate(messages):
        _check_message(i, message)
    max_tokens = body.get("max_tokens")
    if max_tokens is None:
        if need_max_tokens:
            raise bad_request("max_tokens: field required")
    elif not _is_int(max_tokens):
        raise bad_request(f"max_tokens: expected an integer, got {_kind(max_tokens)}")
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise bad_request(f"stream: expected a boolean, got {_kind(stream)}")
    system = body.get("system")
    if system is not None:
        if isinstance(system, list):
            _check_blocks("system", system)
        elif not isinstance(system, str):
            raise bad_request(f"system: expected a string or a list of blocks, got {_kind(system)}")
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise bad_request(f"tools: expected a list, got {_kind(tools)}")
        for i, tool in enumerate(tools):
            if not isinstance(tool, dict):
                raise bad_request(f"tools.{i}: expected an object, got {_kind(tool)}")
            _check_fields(f"tools.{i}", tool, _TOOL_FIELDS)
    for field, fields in _OBJECT_FIELDS.items():
        value = body.get(field)
        if value is not None:
            if not isinstance(value, dict):
                raise bad_request(f"{field}: expected an object, got {_kind(value)}")
            _check_fields(field, value, fields)
    top_k = body.get("top_k")
    if top_k is not None and not _is_int(top_k):
        raise bad_request(f"top_k: expected an integer, got {_kind(top_k)}")
    for field in ("temperature", "top_p"):
        value = body.get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise bad_request(f"{field}: expected a number, got {_kind(value)}")
    stop = body.get("stop_sequences")
    if stop is not None and (not isinstance(stop, list) or not all(isinstance(s, str) for s in stop)):
        raise bad_request("stop_sequences: expected a list of strings")


def _check_message(i: int, message: object) -> None:
    if not isinstance(message, dict):
        raise bad_request(f"messages.{i}: expected an object, got {_kind(message)}")
    role = message.get("role")
    if not isinstance(role, str):
        raise bad_request(f"messages.{i}.role: expected a string, got {_kind(role)}")
    content = message.get("content")
    if isinstance(content, list):
        _check_blocks(f"messages.{i}.content", content)
    elif not isinstance(content, str):
        raise bad_request(f"messages.{i}.content: expected a string or a list of blocks, got {_kind(content)}")


# What the wire builders, the token counter and the rules read, a type per field (when the field is
# present: a missing one is the upstream's to refuse). Unknown block types and fields pass untouched.
_Types = type | tuple[type, ...]
_NULLABLE_STR = (str, type(None))
_BLOCK_FIELDS: dict[str, tuple[tuple[str, _Types], ...]] = {
    "text": (("text", str),),
    "image": (("source", dict),),
    "document": (("source", dict), ("title", _NULLABLE_STR), ("context", _NULLABLE_STR)),
    "search_result": (("content", list), ("title", str), ("source", str)),
    "tool_use": (("id", str), ("name", str), ("input", dict)),
    "server_tool_use": (("id", str), ("name", str), ("input", dict)),
    "tool_result": (("tool_use_id", str), ("content", (str, list)), ("is_error", bool)),
    "thinking": (("thinking", str), ("signature", str)),
    "redacted_thinking": (("data", str),),
    "tool_reference": (("tool_name", str),),
}
_SOURCE_FIELDS: dict[str, tuple[tuple[str, _Types], ...]] = {
    "base64": (("media_type", str), ("data", str)),
    "text": (("media_type", str), ("data", str)),
    "url": (("url", str),),
    "content": (("content", (str, list)),),
    "file": (("file_id", str),),
}
_TOOL_FIELDS = (("name", str), ("type", str), ("description", str), ("input_schema", dict))
_OBJECT_FIELDS: dict[str, tuple[tuple[str, _Types], ...]] = {
    "tool_choice": (("type", str), ("name", str), ("disable_parallel_tool_use", bool)),
    "thinking": (("type", str), ("budget_tokens", int)),
    "metadata": (("user_id", _NULLABLE_STR),),
}


def _check_fields(where: str, value: dict[str, Any], fields: tuple[tuple[str, _Types], ...]) -> None:
    for name, types in fields:
        if name in value:
            found = value[name]
            if not isinstance(found, types) or (isinstance(found, bool) and bool not in _as_tuple(types)):
                raise bad_request(f"{where}.{name}: expected {_expected(types)}, got {_kind(found)}")


def _check_blocks(where: str, blocks: list[Any]) -> None:
    for j, block in enumerate(blocks):
        if not isinstance(block, dict):
            raise bad_request(f"{where}.{j}: expected a content block object, got {_kind(block)}")
        kind = block.get("type")
        if not isinstance(kind, str):
            raise bad_request(f"{where}.{j}.type: expected a string, got {_kind(kind)}")
        fields = _BLOCK_FIELDS.get(kind)
        if fields is None:
            continue
        _check_fields(f"{where}.{j}", block, fields)
        source = block.get("source")
        if isinstance(source, dict):
            _check_source(f"{where}.{j}.source", source)
        inner = block.get("content")
        if isinstance(inner, list):
            _check_blocks(f"{where}.{j}.content", inner)


def _check_source(where: str, source: dict[str, Any]) -> None:
    kind = source.get("type")
    if not isinstance(kind, str):
        raise bad_request(f"{where}.type: expected a string, got {_kind(kind)}")
    fields = _SOURCE_FIELDS.get(kind)
    if fields is not None:
        _check_fields(where, source, fields)
        inner = source.get("content")
        if isinstance(inner, list):
            _check_blocks(f"{where}.content", inner)


def _as_tuple(types: _Types) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _expected(types: _Types) -> str:
    names = {str: "a string", int: "an integer", bool: "a boolean", dict: "an object", list: "an array",
             type(None): "null"}
    return " or ".join(names.get(t, t.__name__) for t in _as_tuple(types))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


__all__ = ["ProxyError", "check_messages_request", "parse_json_object"]
