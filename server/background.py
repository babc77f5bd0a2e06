"""Starting `cc-proxy serve` detached (`serve --background`, and `code` when nothing runs yet).

The child runs in its own session with no terminal. Until it listens, its output goes to a startup file
the parent shows if it fails; once it knows its port it moves its output to `logs/serve-PORT.log` in the
user's state directory and publishes its PID file (server/instance.py), which is what the parent waits
for: no fixed sleep, no guessing the port (port 0 works).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cc_proxy.server.instance import Instance, state_dir, wait_for_instance

START_TIMEOUT = 30.0  # seconds for a detached server to listen; generous for a loaded machine
CHILD_FLAG = "--background-child"


def log_path(port: int) -> Path:
    return state_dir() / "logs" / f"serve-{port}.log"


def move_output_to_log(port: int) -> str:
    """In the detached child, once bound: stdout and stderr from now on go to the port's log file."""
    path = log_path(port)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    return str(path)


@dataclass(frozen=True, slots=True)
class StartFailed:
    exit_code: int
    output: str  # what the child printed before it gave up (config problems, port taken...)


class Starting:
    """A detached `cc-proxy serve` on its way up: the caller may do other work before `wait`."""

    def __init__(self, serve_argv: list[str]) -> None:
        directory = state_dir()
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w+b", dir=directory, prefix="starting-", suffix=".log", delete=False) as out:
            self.startup = Path(out.name)
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cc_proxy.server.cli", *serve_argv, CHILD_FLAG],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # no terminal: Ctrl-C in this shell does not reach it
            )

    def wait(self, timeout: float = START_TIMEOUT) -> Instance | StartFailed:
        proc = self.proc
        try:
            instance = wait_for_instance(proc.pid, timeout, alive=lambda: proc.poll() is None)
            if instance is not None:
                return instance
            output = self.startup.read_text(errors="replace")
            if proc.poll() is None:  # never listened in time: do not leave it behind
                proc.kill()
                proc.wait()
                return StartFailed(1, output + f"cc-proxy: not listening after {timeout:g} s\n")
            return StartFailed(proc.returncode or 1, output)
        finally:
            with contextlib.suppress(FileNotFoundError):
                self.startup.unlink()


def start_detached(serve_argv: list[str], timeout: float = START_TIMEOUT) -> Instance | StartFailed:
    """Run `cc-proxy serve_argv...` (serve_argv[0] == "serve") detached and wait until it listens."""
    return Starting(serve_argv).wait(timeout)


def serve_in_background(serve_argv: list[str]) -> int:
    """`cc-proxy serve --background ...`: start, say where it runs and logs and how to stop it."""
    result = start_detached(serve_argv)
    if isinstance(result, StartFailed):
        sys.stderr.write(result.output)
        return result.exit_code
    config = result.config_file or "the built-in default"
    print(f"cc-proxy running in the background: pid {result.pid}, {result.url}, config {config}")
    print(f"log: {result.log_file}")
    print(f"stop it with: cc-proxy stop --port {result.port}")
    print(f"export ANTHROPIC_BASE_URL={result.url}")
    return 0
