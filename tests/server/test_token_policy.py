"""When the tokenizer (~45 MB, ~0.3 s to build) is needed: only by configs whose ordinary traffic counts
(`needs_tokens`), and a translated stream's message_start reports a size-based figure instead."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from cc_proxy.server.config_files import load_from_disk
from cc_proxy.server.exchange import BYTES_PER_TOKEN
from cc_proxy.server.tokens import needs_tokens
from tests.fakes import openai_stream as O
from tests.fakes.responses import Stream
from tests.server.conftest import Stack


def _snapshot(tmp_path: Path, provider: dict[str, Any], rules: list[dict[str, Any]] | None = None) -> Any:
    (tmp_path / "rules.json").write_text(json.dumps({"routing": rules or []}))
    config = {
        "providers": {"p": {"base_url": "http://127.0.0.1:9", "api_key": "k", **provider}},
        "models": {"m": {"provider": "p", "model": "m1"}},
        "routes": {"default": "m"},
        "rules": ["rules.json"],
    }
    (tmp_path / "cc-proxy.json").write_text(json.dumps(config))
    return load_from_disk(str(tmp_path / "cc-proxy.json")).snapshot


LONG = [{"id": "long", "when": {"tokens": {">": 1000}}, "route": "default"}]
UNROUTED = [{"id": "long", "when": {"tokens": {">": 1000}}, "route": "longContext"}]


@pytest.mark.parametrize(
    ("provider", "rules", "needed"),
    [
        ({"format": "anthropic"}, None, False),
        ({"format": "openai"}, None, False),  # its streams report usage (stream_options.include_usage)
        ({"format": "openai", "profile": {"extends": "openai", "stream_usage": False}}, None, True),
        ({"format": "anthropic"}, LONG, True),
        ({"format": "anthropic"}, UNROUTED, False),  # the rule's route is not configured: never fires
    ],
    ids=["anthropic", "openai", "openai-without-stream-usage", "tokens-rule", "tokens-rule-unrouted"],
)
def test_needs_tokens(tmp_path: Path, provider: dict[str, Any], rules: Any, needed: bool) -> None:
    assert needs_tokens(_snapshot(tmp_path, provider, rules)) is needed


def test_translated_message_start_reports_a_size_based_figure_then_the_upstream_usage(stack: Stack) -> None:
    stack.fake.add("/v1/chat/completions", Stream(O.chat_stream(content=["hi"])))
    body = {"model": "gpt-4o", "max_tokens": 10, "stream": True, "messages": [{"role": "user", "content": "x" * 4400}]}
    raw = orjson.dumps(body)
    streamed = stack.post("/v1/messages", raw)
    payloads = [orjson.loads(line[6:]) for line in streamed.text.splitlines() if line.startswith("data: ")]
    start = payloads[0]["message"]["usage"]["input_tokens"]
    assert start == round(len(raw) / BYTES_PER_TOKEN)
    final = next(p for p in payloads if p["type"] == "message_delta")["usage"]
    assert final["input_tokens"] == O.DEFAULT_USAGE["prompt_tokens"]
