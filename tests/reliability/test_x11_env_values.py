"""Issue 10: a provider key or header value from the environment with CR/LF (a `.env` saved on Windows)
is named at load by `check` and `serve`, never a 500 per request. Decided: whitespace at either end of
a variable's value (CR, LF, tab, space) is stripped with a warning naming the variable; a control
character left inside is an error naming it (the config is refused, as any invalid config)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import REPO_ROOT, child_env
from tests.fakes import anthropic_stream as A
from tests.fakes.server import FakeUpstream
from tests.reliability.conftest import OK, capture, reliability_config, reliability_rules, start_recorded
from tests.server.conftest import CLIENT_KEY, PROXY_ENV, write_stack_files

KEY = "sk-ant-windows-env-Vb3Nq8Lr"


def _config(tmp_path: Path, fake_url: str = "http://127.0.0.1:9") -> Path:
    config = reliability_config(fake_url, 9)
    config["providers"]["anthropic"]["headers"] = {"x-team": "${CC_TEST_TEAM}"}
    return write_stack_files(tmp_path, config, reliability_rules())


def _cli(command: str, config_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "cc_proxy.server.cli", command, "--config", str(config_path)]
    if command == "serve":
        argv += ["--port", "0"]
    return subprocess.run(argv, env=child_env({**PROXY_ENV, **env}), cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60)


def test_x11_check_names_a_variable_with_a_trailing_cr_and_strips_it(tmp_path: Path) -> None:
    done = _cli("check", _config(tmp_path), {"CC_TEST_ANTHROPIC_KEY": KEY + "\r", "CC_TEST_TEAM": "blue\r\n"})
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout + done.stderr
    assert "env-whitespace" in out and "CC_TEST_ANTHROPIC_KEY" in out and "CC_TEST_TEAM" in out
    assert KEY not in out


def test_x11_check_and_serve_refuse_a_control_character_inside_a_value_naming_the_variable(tmp_path: Path) -> None:
    config_path = _config(tmp_path)
    env = {"CC_TEST_TEAM": "blue\r\nx-injected: 1", "CC_TEST_ANTHROPIC_KEY": KEY}
    for command in ("check", "serve"):
        done = _cli(command, config_path, env)
        out = done.stdout + done.stderr
        assert done.returncode == 1, (command, out)
        assert "control-character" in out and "CC_TEST_TEAM" in out and "x-team" in out, out
        assert "injected" not in out


def test_x11_serve_warns_at_start_and_sends_the_stripped_values(tmp_path: Path) -> None:
    with FakeUpstream() as fake:
        fake.always("/v1/messages", A.auto(A.message(A.text("ok"))))
        proxy = start_recorded(_config(tmp_path, fake.url),
                               env={"CC_TEST_ANTHROPIC_KEY": KEY + "\r\n", "CC_TEST_TEAM": " blue\r"})
        try:
            response = capture(httpx.post(proxy.url + "/v1/messages", json=OK, headers={"x-api-key": CLIENT_KEY}))
            assert response.status_code == 200, response.text  # before: 500 from the HTTP client's writer
            sent = fake.requests[0].headers
            assert sent["x-api-key"] == KEY and sent["x-team"] == "blue"
            assert "env-whitespace" in proxy.log() and "CC_TEST_ANTHROPIC_KEY" in proxy.log()
        finally:
            proxy.stop()
