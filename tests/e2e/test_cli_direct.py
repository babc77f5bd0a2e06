"""The harness and the fake's answers are valid for the real CLI on their own: Claude Code pointed straight
at the fake upstream, no proxy. If these fail, the proxied tests' failures say nothing about the proxy."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.e2e.claude_cli import CLIENT_KEY, run_claude
from tests.e2e.conversations import anthropic_say_hi, anthropic_tool_round_trip
from tests.fakes.server import FakeUpstream


def test_say_hi_direct(fake_upstream: FakeUpstream, tmp_path: Path) -> None:
    fake_upstream.always("/v1/messages", anthropic_say_hi("Hello from the fake."))
    run = run_claude("say hi", base_url=fake_upstream.url, scratch=tmp_path, args=["--bare"])
    run.assert_ok()
    assert run.text == "Hello from the fake."
    (request,) = fake_upstream.requests
    assert request.headers["x-api-key"] == CLIENT_KEY
    assert request.json["stream"] is True


def test_tool_round_trip_direct(fake_upstream: FakeUpstream, tmp_path: Path) -> None:
    marker = tmp_path / "work" / "marker.txt"
    fake_upstream.always("/v1/messages", anthropic_tool_round_trip(f"printf proxied > {marker}", "Marker written."))
    run = run_claude(
        "write the marker",
        base_url=fake_upstream.url,
        scratch=tmp_path,
        args=["--bare", "--permission-mode", "default", "--allowedTools", "Bash"],
    )
    run.assert_ok()
    assert run.text == "Marker written."
    assert marker.read_text() == "proxied"
    # Claude Code writes its bodies exactly as orjson would (compact JSON.stringify): the proxy's
    # duplicate-key check takes its fast path for them (server/request_body.py).
    assert len(fake_upstream.requests) == 2
    for request in fake_upstream.requests:
        assert orjson.dumps(orjson.loads(request.body)) == request.body
