"""Running `cc-proxy` commands as a user would, each test with its own state directory (PID files,
background logs), and stopping whatever server a test left running."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from tests.conftest import child_env

# One provider configured from the environment, one whose variable the tests leave unset.
CONFIG = {
    "providers": {
        "local": {"format": "openai", "base_url": "http://127.0.0.1:9", "api_key": "${CC_TEST_LOCAL_KEY}"},
        "remote": {"format": "openai", "base_url": "http://127.0.0.1:9", "api_key": "${CC_TEST_UNSET_KEY}"},
    },
    "models": {
        "small": {"provider": "local", "model": "small-1"},
        "big": {"provider": "remote", "model": "big-2"},
    },
    "routes": {"default": "small", "think": "big"},
}
ENV = {"CC_TEST_LOCAL_KEY": "sk-local-test-key-0123456789"}


class Cli:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.state_home = base / "state"
        self.config = base / "cc-proxy.json"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = child_env({**ENV, "XDG_STATE_HOME": str(self.state_home), "HOME": str(self.base / "home")})
        env.pop("CC_TEST_UNSET_KEY", None)
        env.update(extra or {})
        return env

    def write_config(self, config: Mapping[str, object] = CONFIG) -> Path:
        self.config.write_text(json.dumps(config, indent=2))
        return self.config

    def run(self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 60,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cc_proxy.server.cli", *args],
            cwd=self.base,
            env=self.env(env),
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def pid_files(self) -> list[Path]:
        return sorted((self.state_home / "cc-proxy" / "instances").glob("port-*.json"))

    def instances(self) -> list[dict[str, object]]:
        out = []
        for path in self.pid_files():
            with contextlib.suppress(OSError, ValueError):
                out.append(json.loads(path.read_text()))
        return out

    def kill_all(self) -> None:
        """Teardown: whatever server a test left behind (its PID files name them)."""
        for record in self.instances():
            pid = record.get("pid")
            if isinstance(pid, int):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)


def wait_gone(pid: int, timeout: float = 30.0) -> bool:
    """True once `pid` no longer runs (a detached server is reaped by init, not by the test)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        time.sleep(0.02)
    return False


