"""One cc-proxy per port, and how every command finds the running one.

A server holds an exclusive `flock` on `port-N.lock` for its whole life and publishes `port-N.json`
(pid, URL, config file, version, log file) once it listens; both live in the user's state directory
(platformdirs). The lock, not the PID file, says whether a server is alive: the kernel drops it when
the process dies however it dies, so a PID file left behind is stale exactly when its lock is free, and
the next server on that port takes it over without a word. POSIX only, as is the server (uvloop).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

APP_NAME = "cc-proxy"


def state_dir() -> Path:
    """The user's state directory for cc-proxy (~/.local/state/cc-proxy; $XDG_STATE_HOME honoured)."""
    import platformdirs

    return Path(platformdirs.user_state_dir(APP_NAME))


def instances_dir() -> Path:
    path = state_dir() / "instances"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def config_identity(config_file: str | None) -> str | None:
    """How a config is named in a PID file: its resolved absolute path; None is the built-in default."""
    return os.path.realpath(config_file) if config_file is not None else None


@dataclass(frozen=True, slots=True)
class Instance:
    """What a running server publishes about itself. No secrets: the file is readable by the user only,
    but a token has no business in it (clients read server.auth_token from the config)."""

    pid: int
    port: int
    url: str  # what a local client uses: loopback for a wildcard bind, mount prefix included
    config_file: str | None  # config_identity() of the file it serves
    version: str  # cc-proxy's version
    started_at: float  # wall clock
    log_file: str | None = None  # where its output goes when it runs in the background

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Instance | None:
        try:
            data = json.loads(text)
            return cls(
                pid=int(data["pid"]),
                port=int(data["port"]),
                url=str(data["url"]),
                config_file=data["config_file"] if isinstance(data["config_file"], str) else None,
                version=str(data["version"]),
                started_at=float(data["started_at"]),
                log_file=data.get("log_file") if isinstance(data.get("log_file"), str) else None,
            )
        except (ValueError, KeyError, TypeError):
            return None  # half-written or foreign: treated as absent


def _lock_path(port: int) -> Path:
    return instances_dir() / f"port-{port}.lock"


def _pid_path(port: int) -> Path:
    return instances_dir() / f"port-{port}.json"


class PortLock:
    """The serving process's claim on a port: taken before it binds (or right after, for port 0),
    published once it listens, released when it exits."""

    __slots__ = ("_fd", "port")

    def __init__(self, port: int, fd: int) -> None:
        self.port = port
        self._fd = fd

    @classmethod
    def acquire(cls, port: int) -> PortLock | None:
        """The lock, or None while another live process holds it."""
        fd = _try_lock(port)
        return cls(port, fd) if fd is not None else None

    def publish(self, instance: Instance) -> None:
        """Write the PID file atomically (a reader never sees half of it), replacing a stale one."""
        path = _pid_path(self.port)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(instance.to_json())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)

    def release(self) -> None:
        if self._fd < 0:
            return
        with contextlib.suppress(FileNotFoundError):
            _pid_path(self.port).unlink()
        os.close(self._fd)  # closing the descriptor drops the flock
        self._fd = -1


def _try_lock(port: int) -> int | None:
    """A descriptor holding the port's lock, or None while another open file holds it."""
    fd = os.open(_lock_path(port), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _alive(port: int) -> bool:
    """A live process holds the port's lock (this process included: flock is per open file)."""
    if not _lock_path(port).exists():
        return False
    fd = _try_lock(port)
    if fd is None:
        return True
    os.close(fd)  # a probe: let go at once, leave the files to the next server
    return False


def holder_of(port: int) -> Instance | None:
    """The live cc-proxy on `port`, or None (no PID file, a stale one, or one still being written)."""
    try:
        text = _pid_path(port).read_text()
    except (FileNotFoundError, NotADirectoryError):
        return None
    instance = Instance.from_json(text)
    if instance is None or not _alive(port):
        return None
    return instance


def is_running(instance: Instance) -> bool:
    """`instance` still serves: its port's lock is held and the PID file there is still its own."""
    current = holder_of(instance.port)
    return current is not None and current.pid == instance.pid


def running_instances() -> Iterator[Instance]:
    """Every live cc-proxy of this user, lowest port first."""
    ports = []
    for path in instances_dir().glob("port-*.json"):
        with contextlib.suppress(ValueError):
            ports.append(int(path.stem.removeprefix("port-")))
    for port in sorted(ports):
        instance = holder_of(port)
        if instance is not None:
            yield instance


def find_instance(config_file: str | None, port: int | None = None) -> Instance | None:
    """The running server for this config (as `locate_config` found it), on `port` when one is given
    (0 or None: any port). Every command finds the server this way."""
    if port:
        instance = holder_of(port)
        return instance if instance is not None and instance.config_file == config_identity(config_file) else None
    wanted = config_identity(config_file)
    return next((i for i in running_instances() if i.config_file == wanted), None)


def wait_for_instance(pid: int, timeout: float, alive: Callable[[], bool] | None = None) -> Instance | None:
    """Poll for the PID file that process `pid` publishes once it listens; None if it does not within
    `timeout` seconds or exits first (`alive`: a callable returning False once the process is gone)."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while time.monotonic() < deadline:
        for instance in running_instances():
            if instance.pid == pid:
                return instance
        if alive is not None and not alive():
            return None
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
    return None
