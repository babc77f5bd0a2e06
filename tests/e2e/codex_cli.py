"""Run the real Codex CLI (npm `@openai/codex`, pinned in the Makefile) offline against cc-proxy: a
throw-away CODEX_HOME holding a config.toml whose only provider is the proxy (Responses wire), stdin
from /dev/null, only the variables it needs, a timeout, and `codex exec --json` parsed into events."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BINARY = REPO_ROOT / ".cache" / "codex" / "node_modules" / ".bin" / "codex"
CODEX_CLIENT_KEY = "sk-codex-client-key-for-the-proxy-01"


def codex_binary() -> Path:
    """The pinned CLI: $CC_PROXY_CODEX_BIN, else the Makefile's install. Missing is a failure, not a skip."""
    configured = os.environ.get("CC_PROXY_CODEX_BIN")
    binary = Path(configured) if configured else DEFAULT_BINARY
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.fail(f"Codex CLI not found at {binary}: run `make codex` (or set CC_PROXY_CODEX_BIN)", pytrace=False)
    return binary


def codex_config(base_url: str, model: str) -> str:
    """config.toml: cc-proxy as the one model provider, speaking the Responses API, nothing else on."""
    return (
        f'model = "{model}"\n'
        'model_provider = "ccproxy"\n'
        "[model_providers.ccproxy]\n"
        'name = "cc-proxy"\n'
        f'base_url = "{base_url}/v1"\n'
        'env_key = "CC_PROXY_TOKEN"\n'
        'wire_api = "responses"\n'
        "request_max_retries = 0\n"
        "stream_max_retries = 0\n"
        "[analytics]\n"
        "enabled = false\n"
    )


@dataclass(frozen=True)
class CodexRun:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def events(self) -> list[dict[str, Any]]:
        """The `--json` event lines (JSONL on stdout)."""
        out = []
        for line in self.stdout.splitlines():
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                out.append(value)
        return out

    def describe(self) -> str:
        return (
            f"$ {' '.join(self.argv)}\nexit {self.returncode}\n--- stdout\n{self.stdout[-4000:]}\n"
            f"--- stderr\n{self.stderr[-4000:]}"
        )

    def assert_ok(self) -> None:
        if self.returncode != 0:
            pytest.fail(f"Codex run failed:\n{self.describe()}", pytrace=False)


def run_codex(prompt: str, *, base_url: str, model: str, scratch: Path, timeout: float = 120) -> CodexRun:
    """`codex exec --json PROMPT` in `scratch/work` with CODEX_HOME `scratch/codex-home`. Commands run
    unsandboxed (the test's own temp dir is the sandbox; Codex's needs kernel features CI may lack)."""
    binary = codex_binary()
    home = scratch / "codex-home"
    work = scratch / "work"
    home.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(codex_config(base_url, model))
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "CODEX_HOME": str(home),
        "TERM": "dumb",
        "LANG": "C.UTF-8",
        "CC_PROXY_TOKEN": CODEX_CLIENT_KEY,
    }
    argv = (
        str(binary),
        "exec",
        "--json",
        "--skip-git-repo-check",
        "--dangerously-bypass-approvals-and-sandbox",
        prompt,
    )
    proc = subprocess.Popen(
        argv,
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: a timeout kill takes the shell's children too
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"Codex timed out after {timeout}s\n--- stdout\n{stdout}\n--- stderr\n{stderr}", False)
    return CodexRun(argv, proc.returncode, stdout, stderr)
