"""Strict structural check of a JSON value against the `openai` SDK's request TypedDicts.

The SDK does not validate request params at runtime; this walks its TypedDict annotations: required
keys present, no unknown keys (except the vendor extensions a profile deliberately sends), every
value of an allowed type. Unions pass when one member passes.
"""

from __future__ import annotations

import collections.abc
import types
import typing
from typing import Any, Literal, NotRequired, Required, Union, get_args, get_origin, get_type_hints

from typing_extensions import is_typeddict

# Vendor fields outside OpenAI's schema that profiles send on purpose (DeepSeek, OpenRouter, vLLM...).
_TOP_EXTRA = frozenset({"thinking", "reasoning", "top_k", "min_p", "chat_template_kwargs"})
ALLOWED_EXTRA: dict[str, frozenset[str]] = {
    "CompletionCreateParamsBase": _TOP_EXTRA,
    "CompletionCreateParamsStreaming": _TOP_EXTRA,
    "CompletionCreateParamsNonStreaming": _TOP_EXTRA,
    "ChatCompletionAssistantMessageParam": frozenset({"reasoning_content", "reasoning_details", "reasoning"}),
}


class Mismatch(AssertionError):
    pass


def check(value: Any, tp: Any, path: str = "$") -> None:
    if tp is Any or tp is object:
        return
    if isinstance(tp, typing.TypeVar):
        return
    if is_typeddict(tp):
        _check_typeddict(value, tp, path)
        return
    origin = get_origin(tp)
    if origin is typing.Annotated:
        check(value, get_args(tp)[0], path)
        return
    if origin in (Union, types.UnionType):
        errors = []
        for option in get_args(tp):
            try:
                check(value, option, path)
                return
            except Mismatch as exc:
                errors.append(str(exc))
        raise Mismatch(f"{path}: no union member matches: {errors}")
    if origin is Literal:
        if value not in get_args(tp):
            raise Mismatch(f"{path}: {value!r} not in {get_args(tp)}")
        return
    if tp is type(None):
        if value is not None:
            raise Mismatch(f"{path}: expected null")
        return
    if origin in (list, collections.abc.Iterable, collections.abc.Sequence) or (
        origin is not None and getattr(origin, "__name__", "") == "SequenceNotStr"
    ):
        if not isinstance(value, list):
            raise Mismatch(f"{path}: expected an array")
        (item,) = get_args(tp) or (Any,)
        for i, v in enumerate(value):
            check(v, item, f"{path}[{i}]")
        return
    if origin in (dict, collections.abc.Mapping):
        if not isinstance(value, dict):
            raise Mismatch(f"{path}: expected an object")
        return
    if getattr(tp, "__name__", "") == "SequenceNotStr":
        if not isinstance(value, list):
            raise Mismatch(f"{path}: expected an array")
        return
    if tp is str:
        if not isinstance(value, str):
            raise Mismatch(f"{path}: expected a string")
        return
    if tp is bool:
        if not isinstance(value, bool):
            raise Mismatch(f"{path}: expected a boolean")
        return
    if tp is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise Mismatch(f"{path}: expected an integer")
        return
    if tp is float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise Mismatch(f"{path}: expected a number")
        return
    if tp is object:
        return
    raise Mismatch(f"{path}: unsupported annotation {tp!r}")


def _check_typeddict(value: Any, tp: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise Mismatch(f"{path}: expected an object for {tp.__name__}")
    hints = get_type_hints(tp)
    extra = set(value) - set(hints) - ALLOWED_EXTRA.get(tp.__name__, frozenset())
    if extra:
        raise Mismatch(f"{path}: unknown keys {sorted(extra)} for {tp.__name__}")
    # `__required_keys__` is wrong for string annotations (the SDK uses `from __future__ import
    # annotations`), so read Required/NotRequired from the resolved hints.
    missing = _required(tp) - set(value)
    if missing:
        raise Mismatch(f"{path}: missing keys {sorted(missing)} for {tp.__name__}")
    for key, item in value.items():
        if key in hints:
            check(item, hints[key], f"{path}.{key}")


def _required(tp: Any) -> set[str]:
    """Required keys, each judged by the totality of the class that declares it."""
    required: set[str] = set()
    inherited: dict[str, Any] = {}
    for base in getattr(tp, "__orig_bases__", ()):
        if is_typeddict(base):
            required |= _required(base)
            inherited.update(base.__annotations__)
    hints = get_type_hints(tp, include_extras=True)
    for key, raw in tp.__annotations__.items():
        if key in inherited and inherited[key] == raw:
            continue  # declared (and judged) in a base class
        origin = get_origin(hints[key])
        if origin is Required or (origin is not NotRequired and tp.__total__):
            required.add(key)
        else:
            required.discard(key)
    return required


def check_request_body(body: dict[str, Any]) -> None:
    """A whole Chat Completions body against the SDK's create() params (streaming or not)."""
    from openai.types.chat.completion_create_params import (
        CompletionCreateParamsNonStreaming,
        CompletionCreateParamsStreaming,
    )

    check(body, CompletionCreateParamsStreaming if body.get("stream") is True else CompletionCreateParamsNonStreaming)
