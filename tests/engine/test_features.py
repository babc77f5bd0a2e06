from __future__ import annotations

import json
from typing import Any

from cc_proxy.engine.features import Features
from cc_proxy.engine.tokens import TokenEstimator
from tests.conftest import claude_code_fixture


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(claude_code_fixture(name).read_text())
    body: dict[str, Any] = data.get("body", data)
    return body


def test_claude_code_request_features() -> None:
    features = Features(fixture("say_hi.v2.1.332.body.json"), {}, None)
    assert features.model == "claude-opus-5-5"
    assert features.thinking is True  # {"type": "adaptive"}
    assert features.stream is True
    assert "Bash" in features.tool_names and "DeferredToolPlaceholder" in features.tool_names
    assert features.server_tool_types == ()
    assert features.images is False
    assert features.has_tools


def test_server_tools_are_split_from_client_tools() -> None:
    request = {
        "model": "m",
        "messages": [],
        "tools": [
            {"name": "Bash", "input_schema": {}},
            {"type": "custom", "name": "Mine", "input_schema": {}},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 5},
            {"type": "code_execution_20250825", "name": "code_execution"},
        ],
    }
    features = Features(request, {}, None)
    assert features.tool_names == ("Bash", "Mine")
    assert features.server_tool_types == ("web_search_20250305", "code_execution_20250825")


def test_tolerates_odd_shapes() -> None:
    features = Features({"model": 3, "thinking": "yes", "tools": "x", "messages": [None, {"content": 5}]}, {}, None)
    assert (features.model, features.thinking, features.tool_names, features.images) == ("", False, (), False)
    assert features.tokens == 0  # no estimator


def test_tokens_are_lazy() -> None:
    calls: list[str] = []

    def encode_len(text: str) -> int:
        calls.append(text)
        return 1

    features = Features({"model": "m", "messages": [{"role": "user", "content": "hi"}]}, {}, TokenEstimator(encode_len))
    summary = features.summary(tokens=False)
    assert "tokens" not in summary and calls == [] and not features.tokens_computed
    assert features.summary()["tokens"] == features.tokens == 7
    assert len(calls) == 1
