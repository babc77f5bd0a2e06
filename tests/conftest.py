"""Fixtures shared by every test tier: repository paths, free ports, real processes started on 127.0.0.1
port 0 and waited for by the URL they print (`cc-proxy serve`; any other via `start_process`), always
killed, whole process group, at teardown; and the scripted fake upstream in a thread (tests/fakes)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from tests.fakes.server import FakeUpstream

# CI runs the same examples every time (a property failure there is reproducible, never a coin toss);
# local runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO_ROOT = Path(__file__).resolve().parents[1]
# Real Claude Code requests, copied into the repository (tests/fixtures/claude-code/README.md): the tests
# read nothing outside it.
CLAUDE_CODE_FIXTURES = REPO_ROOT / "tests" / "fixtures" / "claude-code"

# Every proxy the tests start runs at DEBUG; the X3 canary scan (tests/reliability/test_zz_x3_canary_scan.py,
# moved to the end of the session below) reads their logs for the keys they were given.
PROXY_LOGS: list[Path] = []
PROXY_SECRETS: set[str] = set()


def record_proxy(log_path: Path, env: Mapping[str, str] | None) -> None:
    PROXY_LOGS.append(log_path)
    PROXY_SECRETS.update(value for value in (env or {}).values() if len(value) >= 12)  # keys, not flags


# The repository stands alone: a test that opens anything under <repo>/../shared (reference material that
# a fresh clone does not have) fails the session here, where ../shared exists; `.ci/run` also runs the
# suite from a clone with no ../shared beside it, which catches subprocesses too.
OUTSIDE_DIR = str(REPO_ROOT.parent / "shared") + os.sep
OUTSIDE_READS: list[str] = []


def _watch_outside_reads(event: str, args: tuple[Any, ...]) -> None:
    if event == "open" and isinstance(args[0], str | Path):
        path = os.path.abspath(args[0])
        if path.startswith(OUTSIDE_DIR):
            OUTSIDE_READS.append(path)


sys.addaudithook(_watch_outside_reads)

# Servers the tests start publish PID files and background logs in the user's state directory
# (server/instance.py): a throw-away one for the session, inherited by every child, never the user's own.
TEST_STATE_HOME = tempfile.mkdtemp(prefix="cc-proxy-test-state-")
os.environ["XDG_STATE_HOME"] = TEST_STATE_HOME
# and their usage history (server/observe/usage_db.py) in the user's data directory: the same, so no test
# server ever writes the user's own usage.sqlite3
TEST_DATA_HOME = tempfile.mkdtemp(prefix="cc-proxy-test-data-")
os.environ["XDG_DATA_HOME"] = TEST_DATA_HOME


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(TEST_STATE_HOME, ignore_errors=True)
    if OUTSIDE_READS:
        listed = "\n  ".join(sorted(set(OUTSIDE_READS)))
        sys.stderr.write(f"\ntests read files outside the repository (copy them into tests/):\n  {listed}\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The canary scan runs last, over every proxy log of the session (a stable sort keeps the rest)."""
    items.sort(key=lambda item: "test_zz_x3_canary_scan" in item.nodeid)


START_TIMEOUT = 30.0  # seconds for a process to print its URL; generous for a loaded 2-core CI machine
URL_PATTERN = re.compile(r"https?://127\.0\.0\.1:\d+\S*")


def claude_code_fixture(name: str) -> Path:
    """A captured Claude Code request; missing is a failure that says where it was looked for, never a skip."""
    path = CLAUDE_CODE_FIXTURES / name
    if not path.exists():
        pytest.fail(f"Claude Code fixture missing: {path}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def free_port() -> int:
    """A port free right now on 127.0.0.1. Prefer `--port 0` where the program supports it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(name="free_port")
def free_port_fixture() -> Callable[[], int]:
    return free_port


@dataclass
class RunningProcess:
    """A started child: its URL (the first one it printed), its combined output in `log_path`."""

    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path
    argv: tuple[str, ...] = field(default=())

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def request_lines(self, count: int, timeout: float = 30.0) -> list[str]:
        """The first `count` `request` log lines, waiting for them: the proxy logs a request once its
        answer is sent, so the client may read the answer before the line is written."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [line for line in self.log().splitlines() if '"event":"request"' in line]
            if len(lines) >= count or time.monotonic() > deadline:
                return lines[:count]
            time.sleep(0.02)

    def stop(self) -> None:
        stop_process(self.proc)


def stop_process(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM the whole process group, SIGKILL it if it lingers; safe to call twice."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):  # children the leader left behind
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.wait(timeout=grace)


def start_process(
    argv: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    pattern: re.Pattern[str] = URL_PATTERN,
    timeout: float = START_TIMEOUT,
) -> RunningProcess:
    """Start `argv` in its own process group, output to `log_path` (no pipe to fill up), and wait for
    the first match of `pattern` in that output. The process is stopped if it never prints one."""
    log_file = log_path.open("wb")
    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        start_new_session=True,
    )
    log_file.close()
    deadline = time.monotonic() + timeout
    while True:
        text = log_path.read_text(errors="replace")
        match = pattern.search(text)
        if match:
            url = match.group(1 if match.re.groups else 0)  # a pattern with a group marks the URL in it
            return RunningProcess(proc, url.rstrip("/"), log_path, tuple(argv))
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_process(proc)
            why = f"exited with {proc.returncode}" if proc.returncode is not None else f"printed no URL in {timeout}s"
            pytest.fail(f"{' '.join(argv)} {why}; output:\n{log_path.read_text(errors='replace')}", pytrace=False)
        time.sleep(0.02)


def _write(path: Path, content: str | bytes | Mapping[str, Any] | Sequence[Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    else:
        path.write_text(json.dumps(content, indent=2))


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment minus anything that would point a child at a real provider, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OPENAI_", "CC_PROXY_CONFIG"))}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


@dataclass
class ProxyServer(RunningProcess):
    config_path: Path = field(default=Path())


ProxyFactory = Callable[..., ProxyServer]


@pytest.fixture
def proxy_server(tmp_path: Path) -> Iterator[ProxyFactory]:
    """Factory: `proxy_server(config, env={...}, files={"rules/x.json": {...}})` writes the config (and any
    rule files, relative to it) into a fresh directory, runs `cc-proxy serve --config ... --port 0`, waits
    for `cc-proxy listening on http://127.0.0.1:PORT` and returns a ProxyServer (`.url`, `.log()`)."""
    started: list[ProxyServer] = []

    def start(
        config: str | Mapping[str, Any],
        *,
        env: Mapping[str, str] | None = None,
        files: Mapping[str, str | bytes | Mapping[str, Any]] | None = None,
        args: Sequence[str] = (),
    ) -> ProxyServer:
        base = tmp_path / f"proxy{len(started)}"
        config_path = base / "cc-proxy.json"
        _write(config_path, config)
        for name, content in (files or {}).items():
            _write(base / name, content)
        # DEBUG unless `args` says otherwise (argparse: the last --log-level wins)
        argv = (sys.executable, "-m", "cc_proxy.server.cli", "serve", "--config", str(config_path), "--port", "0",
                "--log-level", "debug", *args)
        running = start_process(
            argv,
            log_path=tmp_path / f"{base.name}.log",  # outside the watched config directory
            env=child_env(env),
            cwd=REPO_ROOT,
            pattern=re.compile(r"listening on (http://127\.0\.0\.1:\d+)"),
        )
        record_proxy(running.log_path, env)
        server = ProxyServer(running.proc, running.url, running.log_path, running.argv, config_path)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def fake_upstream() -> Iterator[FakeUpstream]:
    """A scripted fake upstream (Anthropic and OpenAI dialects) in a thread of this process."""
    with FakeUpstream() as fake:
        yield fake
