"""An OpenAI-format client to an OpenAI-format target: the client's own request, the rewrite applied.

The rules decided on the normalised (Anthropic) form; what they changed is carried back onto the
client's body field by field, so nothing is translated twice and the bytes stay the client's where
nothing changed. A change with no field-for-field counterpart (messages, tools, thinking...) returns
None: the caller then translates the rewritten request as for any Anthropic client.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import orjson
from cc_proxy.engine.snapshot import ResolvedModel

_ABSENT = object()


def native_body(
    raw: bytes,
    client: Mapping[str, Any],
    normalised: Mapping[str, Any],
    rewritten: Mapping[str, Any],
    target: ResolvedModel,
    *,
    max_tokens_fields: tuple[str, ...],
    stop_field: str | None,
    passthrough: Collection[str] = (),
) -> bytes | None:
    """The body for the target, or None when the rewrite reached what only a translation can carry.
    `max_tokens_fields`: the client's names for the output limit, in preference order; `stop_field`: its
    name for stop sequences (None: the format has none); `passthrough`: the format's own fields a rule
    or a model's `params` may set (the wire's PASSTHROUGH_FIELDS)."""
    changes: dict[str, Any] = {}
    for key in normalised.keys() | rewritten.keys():
        before, after = normalised.get(key, _ABSENT), rewritten.get(key, _ABSENT)
        if before is after or before == after or key in target.extra_body:  # extra_body: merged below
            continue
        if key == "model":
            changes["model"] = after
        elif key == "max_tokens":
            field = next((f for f in max_tokens_fields if f in client), max_tokens_fields[0])
            changes[field] = after
        elif key in ("temperature", "top_p"):
            changes[key] = after
        elif key == "stop_sequences" and stop_field is not None:
            changes[stop_field] = after
        elif key in passthrough:  # the format's own fields, set by a rule or a model's params
            changes[key] = after
        else:
            return None
    limit = target.max_tokens
    for field in max_tokens_fields:
        value = changes.get(field, client.get(field))
        if limit is not None and isinstance(value, int) and value > limit:
            changes[field] = limit
    profile = target.provider.profile
    drop = [f for f in profile.reject_fields if f in client or f in changes]
    if not changes and not drop and not target.extra_body:
        return raw  # the client's bytes
    if list(changes) == ["model"] and not drop and not target.extra_body:
        spliced = _splice_model(raw, client.get("model"), changes["model"])
        if spliced is not None:
            return spliced
    body = dict(client)
    for key, value in changes.items():
        if value is _ABSENT:
            body.pop(key, None)
        else:
            body[key] = value
    for field in drop:
        body.pop(field, None)
    if target.extra_body:
        _merge(body, target.extra_body)
    return orjson.dumps(body)


def _splice_model(raw: bytes, before: Any, after: Any) -> bytes | None:
    """The client's bytes with only the model name replaced (the common case: an alias for the upstream
    name), without serialising the whole body again. Found as the key-value pair itself: inside a JSON
    string its quotes would be escaped, so an occurrence is a real `model` key; only a single one (the
    top-level key, which is there) is replaced, else None and the caller serialises."""
    if not isinstance(before, str) or not isinstance(after, str):
        return None
    pair = b'"model":' + orjson.dumps(before)
    at = raw.find(pair)
    if at < 0 or raw.find(pair, at + 1) >= 0:
        return None
    return raw[:at] + b'"model":' + orjson.dumps(after) + raw[at + len(pair) :]


def _merge(into: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """`extra_body` wins; objects merge key by key, a null removes the key (as engine.wire.openai_request)."""
    for key, value in extra.items():
        if value is None:
            into.pop(key, None)
        elif isinstance(value, Mapping):
            inner = into.get(key)
            into[key] = dict(inner) if isinstance(inner, dict) else {}
            _merge(into[key], value)
        else:
            into[key] = value
