"""`cc-proxy statusline` as Claude Code runs it: its session JSON on stdin, one line out naming the
session's route and upstream model, tokens and cost; something sensible when the proxy is down."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT, child_env
from tests.fakes import anthropic_stream as A
from tests.observe.conftest import SESSION
from tests.observe.test_request_log import ASK, USAGE
from tests.observe.test_usage_history import wait_rows
from tests.server.conftest import Stack, closed_port

STATUS_JSON = {
    "hook_event_name": "Status",
    "session_id": SESSION,
    "model": {"id": "claude-sonnet-4-5", "display_name": "Sonnet 4.5"},
    "workspace": {"current_dir": "/tmp/project", "project_dir": "/tmp/project"},
}


def statusline(*args: str, env: dict[str, str] | None = None, stdin: object = STATUS_JSON) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "cc_proxy.server.cli", "statusline", *args],
        input=json.dumps(stdin), cwd=REPO_ROOT, env=child_env(env), capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0 and done.stderr == "", done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    return lines[0]


def test_the_line_names_the_sessions_route_model_and_cost(observed: Stack, tmp_path: Path) -> None:
    observed.fake.always("/v1/messages", A.auto(A.message(A.text("ok"), usage=USAGE)))
    before = len(wait_rows(observed, 0))
    for _ in range(2):
        observed.post("/v1/messages", ASK, {"x-claude-code-session-id": SESSION})
    wait_rows(observed, before + 2)
    line = statusline("--url", observed.url)
    assert line.startswith("cc-proxy default → anthropic/claude-sonnet-4-5 · 6.5k in (5.3k cached) / 80 out")
    assert "session $" in line
    # As Claude Code runs it: ANTHROPIC_BASE_URL is the proxy it talks to
    assert statusline(env={"ANTHROPIC_BASE_URL": observed.url}) == line
    # The running server of a config, found by its PID file (as every command finds it)
    assert statusline("--config", str(observed.config_path)) == line
    # From cc-proxy.json's address when no server of that config runs
    port = observed.url.rsplit(":", 1)[1]
    config = tmp_path / "cc-proxy.json"
    config.write_text(json.dumps({"server": {"host": "127.0.0.1", "port": int(port)}}))
    assert statusline("--config", str(config)) == line
    other = {**STATUS_JSON, "session_id": "another-session"}
    assert statusline("--url", observed.url, stdin=other) == "cc-proxy: no requests from this session yet"


def test_a_proxy_that_is_down_is_said_so() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    assert statusline("--url", url) == f"cc-proxy: not reachable at {url}"
    assert statusline("--url", url, stdin="not json") == "cc-proxy: no session id from Claude Code"
