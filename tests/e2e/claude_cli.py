"""Run the real Claude Code CLI offline, the way /work/shared/claude-code/README.md says: a throw-away
HOME and cwd, stdin from /dev/null, only the variables it needs (so it talks to nothing but the base URL),
a timeout, and `--output-format json` parsed into a result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BINARY = REPO_ROOT / ".cache" / "claude-code" / "node_modules" / ".bin" / "claude"
CLIENT_KEY = "sk-ant-client-key-must-not-leave-the-proxy"

# Keeps the CLI offline: no telemetry, update checks, error reports or side model calls.
QUIET_ENV: dict[str, str] = {
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_BUG_COMMAND": "1",
    "DISABLE_NON_ESSENTIAL_MODEL_CALLS": "1",
}


def claude_binary() -> Path:
    """The pinned CLI: $CC_PROXY_CLAUDE_BIN, else the Makefile's install. Missing is a failure, not a skip."""
    configured = os.environ.get("CC_PROXY_CLAUDE_BIN")
    binary = Path(configured) if configured else DEFAULT_BINARY
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.fail(
            f"Claude Code CLI not found at {binary}: run `make claude-code` (or set CC_PROXY_CLAUDE_BIN)",
            pytrace=False,
        )
    return binary


@dataclass(frozen=True)
class ClaudeRun:
    """One finished CLI run. `result` is the `--output-format json` object (None if stdout held none)."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    result: dict[str, Any] | None = field(default=None)

    @property
    def text(self) -> str:
        """The final answer text; fails the test with the whole run shown if there is none."""
        if self.result is None or not isinstance(self.result.get("result"), str):
            pytest.fail(f"Claude Code gave no result object:\n{self.describe()}", pytrace=False)
        text: str = self.result["result"]
        return text

    def describe(self) -> str:
        return (
            f"$ {' '.join(self.argv)}\nexit {self.returncode}\n--- stdout\n{self.stdout[-4000:]}\n"
            f"--- stderr\n{self.stderr[-4000:]}"
        )

    def assert_ok(self) -> dict[str, Any]:
        """The run succeeded: exit 0 and a result that is not an error. Returns the result object."""
        ok = self.returncode == 0 and self.result is not None and self.result.get("is_error") is False
        if not ok or self.result is None:
            pytest.fail(f"Claude Code run failed:\n{self.describe()}", pytrace=False)
        return self.result


def _parse_result(stdout: str) -> dict[str, Any] | None:
    """The json output format prints one object; take the last line that parses as one."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def run_claude(
    prompt: str,
    *,
    base_url: str,
    scratch: Path,
    args: Sequence[str] = (),
    api_key: str = CLIENT_KEY,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 90,
) -> ClaudeRun:
    """`claude -p PROMPT --output-format json ARGS` with cwd `scratch/work` and HOME `scratch/home`.

    `extra_env` adds variables (e.g. ANTHROPIC_MODEL); nothing else from this process leaks in.
    """
    binary = claude_binary()
    home = scratch / "home"
    work = scratch / "work"
    home.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "TERM": "dumb",
        "LANG": "C.UTF-8",
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": api_key,
        **QUIET_ENV,
        **(extra_env or {}),
    }
    argv = (str(binary), "-p", prompt, "--output-format", "json", *args)
    proc = subprocess.Popen(
        argv,
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: a timeout kill takes the Bash tool's children too
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"Claude Code timed out after {timeout}s\n--- stdout\n{stdout}\n--- stderr\n{stderr}", False)
    return ClaudeRun(argv, proc.returncode, stdout, stderr, _parse_result(stdout))
