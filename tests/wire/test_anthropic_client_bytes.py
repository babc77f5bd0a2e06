"""Anthropic targets get the client's own bytes when rules and profile changed nothing, and a fresh
serialization as soon as anything changed (a field, the model name, a nested block)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson

from engine.decide import decide
from engine.wire.anthropic import build_request, same_body
from server.config_files import load_from_disk

REQUEST: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 1000,
    "stream": True,
    "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
    "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    "metadata": {"user_id": "u"},
}


def _snapshot(tmp_path: Path, model: dict[str, Any]) -> Any:
    config = {
        "providers": {"p": {"format": "anthropic", "base_url": "http://127.0.0.1:9", "api_key": "k"}},
        "models": {"m": {"provider": "p", **model}},
        "routes": {"default": "m"},
        "rules": ["builtin:default"],
    }
    path = tmp_path / "cc-proxy.json"
    path.write_text(json.dumps(config))
    return load_from_disk(str(path)).snapshot


def _send(tmp_path: Path, model: dict[str, Any], raw: bytes) -> tuple[bytes, dict[str, Any]]:
    snapshot = _snapshot(tmp_path, model)
    original = orjson.loads(raw)
    decision = decide(snapshot, original, {}, None)
    upstream = build_request(decision.target, decision.request, {}, (decision.features.request, raw))
    return upstream.body, orjson.loads(upstream.body)


def test_unchanged_request_is_forwarded_as_the_clients_bytes(tmp_path: Path) -> None:
    raw = json.dumps(REQUEST, indent=1).encode()  # not orjson's compact form: the bytes prove the path
    body, parsed = _send(tmp_path, {}, raw)
    assert body is raw
    assert parsed == REQUEST


def test_a_changed_model_name_is_serialized_again(tmp_path: Path) -> None:
    raw = json.dumps(REQUEST, indent=1).encode()
    body, parsed = _send(tmp_path, {"model": "claude-opus-4-1"}, raw)
    assert body != raw
    assert parsed == {**REQUEST, "model": "claude-opus-4-1"}


def test_a_clamped_field_is_serialized_again(tmp_path: Path) -> None:
    raw = json.dumps({**REQUEST, "max_tokens": 64000}, indent=1).encode()
    _body, parsed = _send(tmp_path, {"max_tokens": "8k"}, raw)
    assert parsed["max_tokens"] == 8000  # "8k" is 8,000


def test_same_body_compares_identity_for_containers_and_value_for_scalars() -> None:
    original = {"model": "a", "n": 1, "messages": [1], "flag": True}
    assert same_body(original, dict(original))
    assert same_body(original, {**original, "model": "a"})
    assert not same_body(original, {**original, "messages": [1]})  # a new list: rewritten somewhere
    assert not same_body(original, {**original, "n": 2})
    assert not same_body(original, {**original, "n": True})  # 1 == True, but not the same JSON
    assert not same_body(original, {k: v for k, v in original.items() if k != "flag"})
    assert not same_body(original, {**original, "extra": None})
