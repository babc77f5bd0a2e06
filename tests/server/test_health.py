"""/health's report (server/health.py) from what the server holds: ok while every route can be served,
degraded with one reason per unconfigured model or fallback, and each target's circuit."""

from __future__ import annotations

import json

from cc_proxy.engine.load import SourceFile, build_snapshot, parse_config
from cc_proxy.server.breaker import Breaker
from cc_proxy.server.health import health_report
from cc_proxy.server.holder import SnapshotHolder
from cc_proxy.server.state import ServerState

CONFIG = {
    "providers": {
        "a": {"format": "anthropic", "base_url": "http://127.0.0.1:9", "api_key": "${KEY_A}"},
        "b": {"format": "openai", "base_url": "http://127.0.0.1:9", "api_key": "${KEY_B}"},
    },
    "models": {"one": {"provider": "a", "model": "one-1"}, "two": {"provider": "b", "model": "two-2"}},
    "routes": {"default": {"model": "one", "fallbacks": ["two"]}},
    "rules": [],
}


def state(env: dict[str, str], breaker: Breaker | None = None) -> ServerState:
    doc = parse_config(SourceFile("cc-proxy.json", json.dumps(CONFIG).encode()))
    return ServerState(holder=SnapshotHolder(build_snapshot(doc, [], env)), breaker=breaker)


def test_ok_when_every_route_can_be_served() -> None:
    report = health_report(state({"KEY_A": "k-a", "KEY_B": "k-b"}))
    assert report["status"] == "ok" and report["reasons"] == []
    assert report["providers"]["a"] == {"format": "anthropic", "configured": True, "problem": None}


def test_degraded_names_each_unconfigured_model_or_fallback() -> None:
    report = health_report(state({"KEY_A": "k-a"}))
    assert report["status"] == "degraded"
    assert report["reasons"] == [
        "route 'default': fallback 'two': provider 'b' has no API key (environment variable KEY_B is not set)"
    ]
    assert report["providers"]["b"]["problem"] == "no API key (environment variable KEY_B is not set)"
    assert "k-a" not in json.dumps(report)


def test_targets_show_their_circuit() -> None:
    now = [100.0]
    breaker = Breaker(threshold=2, base=30.0, clock=lambda: now[0])
    served = state({"KEY_A": "k-a", "KEY_B": "k-b"}, breaker)
    breaker.failure("one")
    assert health_report(served)["targets"]["one"] == {
        "provider": "a", "model": "one-1", "circuit": "closed", "failures": 1}
    breaker.failure("one")
    now[0] += 10
    assert health_report(served)["targets"]["one"]["circuit"] == "open"
    assert health_report(served)["targets"]["one"]["open_for_s"] == 20.0
    assert health_report(served)["targets"]["two"] == {"provider": "b", "model": "two-2", "circuit": "closed",
                                                       "failures": 0}
