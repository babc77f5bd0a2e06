"""The real Claude Code CLI through cc-proxy to a scripted Anthropic-format upstream: the rule picks the
target and rewrites the model, the provider's key replaces the client's, the stream comes back intact,
and a tool round trip really runs the tool."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ProxyFactory, ProxyServer
from tests.e2e.claude_cli import CLIENT_KEY, run_claude
from tests.e2e.conversations import anthropic_say_hi, anthropic_tool_round_trip
from tests.fakes.server import FakeUpstream, RecordedRequest

PROVIDER_KEY = "sk-ant-provider-key-from-env-0001"


def proxy_config(upstream_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Default route to one alias, a rule sending claude-* to another: only the rule yields fake-model-1."""
    config = {
        "providers": {
            "fake": {"format": "anthropic", "base_url": upstream_url, "api_key": "${FAKE_PROVIDER_KEY}"},
        },
        "models": {
            "fake-alias": {"provider": "fake", "model": "fake-model-1"},
            "fallback-alias": {"provider": "fake", "model": "not-this-one"},
        },
        "routes": {"default": "fallback-alias"},
        "rules": ["rules.json"],
    }
    rules = {"routing": [{"id": "claude-to-fake", "when": {"model": {"glob": "claude-*"}}, "model": "fake-alias"}]}
    return config, rules


def start_proxy(proxy_server: ProxyFactory, fake: FakeUpstream) -> ProxyServer:
    config, rules = proxy_config(fake.url)
    return proxy_server(config, files={"rules.json": rules}, env={"FAKE_PROVIDER_KEY": PROVIDER_KEY})


def assert_credentials(request: RecordedRequest) -> None:
    assert request.headers.get("x-api-key") == PROVIDER_KEY
    sent = " ".join(value for _, value in request.raw_headers)
    assert CLIENT_KEY not in sent, "the client's own key was forwarded upstream"


def test_say_hi_through_proxy(proxy_server: ProxyFactory, fake_upstream: FakeUpstream, tmp_path: Path) -> None:
    fake_upstream.always("/v1/messages", anthropic_say_hi("Hi! Routed through cc-proxy."))
    proxy = start_proxy(proxy_server, fake_upstream)

    run = run_claude("say hi", base_url=proxy.url, scratch=tmp_path)

    result = run.assert_ok()
    assert run.text == "Hi! Routed through cc-proxy."
    assert result["num_turns"] == 1
    main = [r for r in fake_upstream.requests if r.json and r.json.get("tools")]
    assert len(main) == 1, [r.path for r in fake_upstream.requests]
    (request,) = main
    assert request.path == "/v1/messages"
    assert request.json["model"] == "fake-model-1"
    assert request.json["stream"] is True
    assert request.json["messages"][0]["role"] == "user"
    for each in fake_upstream.requests:
        assert_credentials(each)
    log = proxy.log()
    assert PROVIDER_KEY not in log and CLIENT_KEY not in log, "a key appeared in the proxy's log"


@pytest.mark.parametrize("stream_ignored", [False, True], ids=["streamed", "upstream-ignores-stream"])
def test_bash_tool_round_trip_through_proxy(
    proxy_server: ProxyFactory, fake_upstream: FakeUpstream, tmp_path: Path, stream_ignored: bool
) -> None:
    """`upstream-ignores-stream`: the upstream answers every streamed request with one JSON body; the
    proxy replays each as the Anthropic stream (engine/wire/replay.py) and the session works the same."""
    marker = tmp_path / "work" / "made-by-bash.txt"
    tool_id = "toolu_01E2eBashCall00001"
    responder = anthropic_tool_round_trip(
        f"printf 'via proxy' > {marker}", "Done.", tool_id, stream_ignored=stream_ignored
    )
    fake_upstream.always("/v1/messages", responder)
    proxy = start_proxy(proxy_server, fake_upstream)

    run = run_claude(
        "create the marker file",
        base_url=proxy.url,
        scratch=tmp_path,
        args=["--bare", "--permission-mode", "default", "--allowedTools", "Bash"],
    )

    run.assert_ok()
    assert run.text == "Done."
    assert marker.read_text() == "via proxy"
    first, second = [r for r in fake_upstream.requests if r.json and r.json.get("tools")]
    assert first.json["model"] == second.json["model"] == "fake-model-1"
    last_turn = second.json["messages"][-1]
    assert last_turn["role"] == "user"
    results = [b for b in last_turn["content"] if b.get("type") == "tool_result"]
    assert [r["tool_use_id"] for r in results] == [tool_id]
    assert results[0].get("is_error") is not True
    assert_credentials(second)


def test_explicit_provider_model_wins_over_rules(
    proxy_server: ProxyFactory, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    """`--model provider,model` (what `/model` sends) picks that provider and upstream model outright,
    and the answer names the model the client asked for."""
    fake_upstream.always("/v1/messages", anthropic_say_hi("Pinned."))
    proxy = start_proxy(proxy_server, fake_upstream)

    run = run_claude("say hi", base_url=proxy.url, scratch=tmp_path, args=["--bare", "--model", "fake,fake-model-2"])

    result = run.assert_ok()
    assert run.text == "Pinned."
    assert [r.json["model"] for r in fake_upstream.requests] == ["fake-model-2"]
    assert list(result["modelUsage"]) == ["fake,fake-model-2"]
