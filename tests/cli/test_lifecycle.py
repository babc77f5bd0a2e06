"""`serve --background`, `status`, `stop`, one instance per port, `--version`, `token`: real processes,
each test with its own state directory."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.support import Cli, wait_gone
from tests.conftest import free_port, start_process


def test_background_server_status_and_stop(cli: Cli) -> None:
    config = cli.write_config()
    started = cli.run("serve", "--background", "--config", str(config), "--port", "0")
    assert started.returncode == 0, started.stdout + started.stderr
    pid = int(re.search(r"pid (\d+)", started.stdout)[1])  # type: ignore[index]
    log_file = re.search(r"^log: (\S+)$", started.stdout, re.M)[1]  # type: ignore[index]
    assert log_file.startswith(str(cli.state_home / "cc-proxy" / "logs")), started.stdout
    assert "stop it with: cc-proxy stop --port" in started.stdout
    url = re.search(r"^export ANTHROPIC_BASE_URL=(http://127\.0\.0\.1:\d+)$", started.stdout, re.M)[1]  # type: ignore[index]
    assert "cc-proxy listening on " + url in Path(log_file).read_text()

    status = cli.run("status", "--config", str(config))
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"running: pid {pid}, {url}" in status.stdout
    assert "status       degraded" in status.stdout
    assert "provider     remote (openai): NOT configured: no API key (environment variable CC_TEST_UNSET_KEY" in (
        status.stdout
    )
    assert "provider     local (openai): configured" in status.stdout
    assert "target       small: local/small-1: circuit closed" in status.stdout

    report = json.loads(cli.run("status", "--json", "--config", str(config)).stdout)
    assert report["running"] is True and report["pid"] == pid and report["url"] == url
    health = report["health"]
    assert health["status"] == "degraded"
    assert health["reasons"] == [
        "route 'think': model 'big': provider 'remote' has no API key "
        "(environment variable CC_TEST_UNSET_KEY is not set)"
    ]
    assert health["providers"]["local"] == {"format": "openai", "configured": True, "problem": None}
    assert health["targets"]["big"]["circuit"] == "closed"
    assert health["config_file"] == str(config)
    assert "sk-local-test-key" not in json.dumps(report)

    # every command finds the same server through the config's discovery: here ./cc-proxy.json
    assert cli.run("status").returncode == 0

    stopped = cli.run("stop", "--config", str(config))
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert f"stopped cc-proxy pid {pid} ({url})" in stopped.stdout
    assert wait_gone(pid)
    assert cli.pid_files() == []
    after = cli.run("status", "--config", str(config))
    assert after.returncode == 3
    assert "cc-proxy is not running for" in after.stdout
    assert cli.run("stop", "--config", str(config)).returncode == 3


def test_a_second_serve_on_a_taken_port_says_who_holds_it(cli: Cli) -> None:
    config = cli.write_config()
    port = free_port()
    first = start_process(
        [sys.executable, "-m", "cc_proxy.server.cli", "serve", "--config", str(config), "--port", str(port)],
        log_path=cli.base / "first.log",
        env=cli.env(),
        cwd=cli.base,
    )
    try:
        # the first one publishes its PID file once it listens (just after printing the URL)
        deadline = time.monotonic() + 30
        while not cli.pid_files() and time.monotonic() < deadline:
            time.sleep(0.02)
        second = cli.run("serve", "--config", str(config), "--port", str(port))
        assert second.returncode == 1
        assert f"port {port} is taken by cc-proxy pid {first.proc.pid}" in second.stderr
        assert f"`cc-proxy stop --port {port}`, or pick another port with --port" in second.stderr
        assert "Traceback" not in second.stderr
        # the hint works from anywhere: --port names the server, whatever config is found here
        elsewhere = cli.base / "elsewhere"
        elsewhere.mkdir()
        (elsewhere / "cc-proxy.json").write_text("{}")
        stopped = subprocess.run([sys.executable, "-m", "cc_proxy.server.cli", "stop", "--port", str(port)],
                                 cwd=elsewhere, env=cli.env(), capture_output=True, text=True, timeout=60)
        assert stopped.returncode == 0 and f"stopped cc-proxy pid {first.proc.pid}" in stopped.stdout, stopped
        assert first.proc.wait(timeout=30) == 0
    finally:
        first.stop()


def test_a_stale_pid_file_is_taken_over_silently(cli: Cli) -> None:
    config = cli.write_config()
    port = free_port()
    instances = cli.state_home / "cc-proxy" / "instances"
    instances.mkdir(parents=True)
    stale = {"pid": 999999, "port": port, "url": f"http://127.0.0.1:{port}", "config_file": str(config),
             "version": "0.0.1", "started_at": 1.0, "log_file": None}
    (instances / f"port-{port}.json").write_text(json.dumps(stale))
    (instances / f"port-{port}.lock").touch()
    assert cli.run("status", "--config", str(config)).returncode == 3  # stale is not running
    started = cli.run("serve", "--background", "--config", str(config), "--port", str(port))
    assert started.returncode == 0, started.stdout + started.stderr
    assert started.stderr == "" and started.stdout.startswith("cc-proxy running in the background: pid ")
    (record,) = cli.instances()
    assert record["pid"] != 999999 and record["port"] == port
    assert cli.run("stop", "--port", str(port), "--config", str(config)).returncode == 0


@pytest.mark.parametrize("port", ["99999", "-1", "80x"])
def test_a_bad_port_is_a_usage_error_without_traceback(cli: Cli, port: str) -> None:
    config = cli.write_config()
    for command in ("serve", "status", "stop", "code", "env"):
        done = cli.run(command, "--config", str(config), "--port", port)
        assert done.returncode == 2, (command, done.stderr)
        assert "argument --port:" in done.stderr and "Traceback" not in done.stderr
    assert "out-of-range" in cli.run("serve", "--port", "99999").stderr


def test_version_and_token(cli: Cli) -> None:
    from cc_proxy.server.about import package_version

    version = cli.run("--version")
    assert version.returncode == 0 and version.stdout == f"cc-proxy {package_version()}\n"
    first, second = cli.run("token"), cli.run("token")
    assert first.returncode == 0
    token = first.stdout.strip()
    assert re.fullmatch(r"ccp-[A-Za-z0-9_-]{43}", token) and token != second.stdout.strip()
    assert "auth_token" in first.stderr  # how to use it, off stdout so `$(cc-proxy token)` is the token alone
    assert os.environ.get("XDG_STATE_HOME") != str(cli.state_home)
