"""One instance per port (server/instance.py): the lock says who is alive, the PID file says who it is;
a PID file whose lock nobody holds is stale and the next server takes it over."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cc_proxy.server import instance as inst
from cc_proxy.server.instance import Instance, PortLock, find_instance, holder_of, is_running


@pytest.fixture(autouse=True)
def own_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state" / "cc-proxy"


def record(port: int, config: str | None, pid: int | None = None) -> Instance:
    return Instance(pid=pid or os.getpid(), port=port, url=f"http://127.0.0.1:{port}",
                    config_file=inst.config_identity(config), version="test", started_at=time.time())


def test_a_published_instance_is_found_by_port_and_by_config(tmp_path: Path) -> None:
    config = tmp_path / "cc-proxy.json"
    lock = PortLock.acquire(40001)
    assert lock is not None
    lock.publish(record(40001, str(config)))
    try:
        found = holder_of(40001)
        assert found is not None and found.port == 40001 and found.config_file == os.path.realpath(config)
        # the same config named another way (relative, through a symlink) is the same server
        os.symlink(tmp_path, tmp_path / "link")
        assert find_instance(str(tmp_path / "link" / "cc-proxy.json")) == found
        assert find_instance(str(config), 40001) == found
        assert find_instance(str(config), 40002) is None
        assert find_instance(None) is None  # the built-in default is another config
        assert is_running(found)
    finally:
        lock.release()
    assert holder_of(40001) is None
    assert not (inst.instances_dir() / "port-40001.json").exists()


def test_a_second_claim_on_a_held_port_fails_until_the_holder_lets_go() -> None:
    first = PortLock.acquire(40003)
    assert first is not None
    assert PortLock.acquire(40003) is None  # another open file, even in this process
    first.release()
    second = PortLock.acquire(40003)
    assert second is not None
    second.release()


def test_a_pid_file_left_by_a_killed_server_is_stale_and_taken_over() -> None:
    # a process that claims the port, publishes, and dies without cleaning up (as SIGKILL leaves it)
    script = (
        "import os, time\n"
        "from cc_proxy.server.instance import Instance, PortLock\n"
        "lock = PortLock.acquire(40005)\n"
        "lock.publish(Instance(os.getpid(), 40005, 'http://127.0.0.1:40005', None, 'old', time.time()))\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=30)
    pid_file = inst.instances_dir() / "port-40005.json"
    assert pid_file.exists()
    assert holder_of(40005) is None  # its lock died with it
    lock = PortLock.acquire(40005)
    assert lock is not None
    mine = record(40005, None)
    lock.publish(mine)
    assert holder_of(40005) == mine
    lock.release()


def test_a_half_written_or_foreign_pid_file_reads_as_absent() -> None:
    lock = PortLock.acquire(40007)
    assert lock is not None
    try:
        (inst.instances_dir() / "port-40007.json").write_text('{"pid": ')
        assert holder_of(40007) is None
    finally:
        lock.release()
