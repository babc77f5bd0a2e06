"""Hot reload under load (reliability R1-R3): a thread keeps sending requests while the rule file is
rewritten, truncated, half-saved, deleted and atomically replaced. No request may fail; a broken save
keeps the old snapshot (and /health says why); the next valid save goes live."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO_ROOT, child_env
from tests.fakes import anthropic_stream as A
from tests.fakes.responses import Stream
from tests.fakes.server import FakeUpstream
from tests.server.conftest import CLIENT_KEY, RULES, Stack, base_config, start_proxy, write_stack_files

REQUEST = {"model": "switch-1", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


def rules_to(alias: str) -> dict[str, Any]:
    return {"routing": [{"id": f"switch-to-{alias}", "when": {"model": {"glob": "switch-*"}}, "model": alias},
                        *RULES["routing"]]}


@pytest.fixture
def reloading(tmp_path: Path) -> Iterator[Stack]:
    with FakeUpstream() as fake:
        fake.always("*", A.auto(A.message(A.text("ok"))))
        config_path = write_stack_files(tmp_path, base_config(fake.url), rules_to("sonnet"))
        proxy = start_proxy(config_path, args=("--reload-debounce-ms", "150"))
        try:
            yield Stack(fake, proxy, config_path)
        finally:
            proxy.stop()


class Load:
    """Requests in a loop from a thread; records (status, target header, config version)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.results: list[tuple[int, str, str]] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                try:
                    r = client.post(self.url + "/v1/messages", json=REQUEST, headers={"x-api-key": CLIENT_KEY})
                    self.results.append((r.status_code, r.headers.get("x-cc-proxy-target", ""),
                                         r.headers.get("x-cc-proxy-config-version", "")))
                except httpx.HTTPError as exc:
                    self.errors.append(repr(exc))

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(15)


def health(stack: Stack) -> dict[str, Any]:
    result: dict[str, Any] = httpx.get(stack.url + "/health").json()
    return result


def wait_for(what: str, check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_reload_under_load_never_fails_a_request(reloading: Stack) -> None:
    rules = reloading.config_path.parent / "rules" / "test.json"
    with Load(reloading.url) as load:
        wait_for("first answers", lambda: len(load.results) > 5)
        assert load.results[-1][1] == "anthropic/claude-sonnet-4-5"
        first_version = health(reloading)["config_version"]

        rules.write_text(json.dumps(rules_to("backup")))  # a valid edit: live soon
        wait_for("switch to backup", lambda: load.results[-1][1] == "compat/backup-model")
        second_version = health(reloading)["config_version"]
        assert second_version != first_version

        broken_saves = [
            b"",  # truncate-then-write editor, caught between the two
            b'{"routing": [',  # half-written
            b'{"routing": [{"id": "x", "when": {"model": {"regex": "(a"}}, "model": "sonnet"}]}',  # bad regex
        ]
        for broken in broken_saves:
            rejected_before = health(reloading)["reloads_rejected"]
            rules.write_bytes(broken)
            wait_for("rejection", lambda n=rejected_before: health(reloading)["reloads_rejected"] > n)
            status = health(reloading)
            assert status["config_version"] == second_version  # still serving the last good snapshot
            assert any("test.json" in line for line in status["last_reload_error"])
            count = len(load.results)
            wait_for("requests after the rejection", lambda c=count: len(load.results) > c + 3)
            assert load.results[-1][1] == "compat/backup-model"

        rules.unlink()  # deleted: the config still names it, so the old snapshot stays
        wait_for("rejection of the deletion", lambda: "test.json" in " ".join(health(reloading)["last_reload_error"]))
        assert health(reloading)["config_version"] == second_version

        tmp = rules.with_suffix(".json.tmp")  # an editor's atomic save: write elsewhere, rename over
        tmp.write_text(json.dumps(rules_to("gpt")))
        os.replace(tmp, rules)
        wait_for("switch to gpt", lambda: load.results[-1][1] == "openai/gpt-test")
        assert health(reloading)["last_reload_error"] is None
        time.sleep(0.2)

    statuses = {status for status, _, _ in load.results}
    # The openai target gets an Anthropic answer from this fake (it answers `*`), so its answers may be a
    # translated 502; everything served by the Anthropic-format targets must be 200.
    failures = [r for r in load.results if r[0] != 200 and r[1] != "openai/gpt-test"]
    assert not load.errors and not failures, (load.errors[:3], failures[:3], statuses)
    versions = {version for _, _, version in load.results}
    assert len(versions) >= 3


def test_rejected_reload_is_logged_in_check_format(reloading: Stack) -> None:
    rules = reloading.config_path.parent / "rules" / "test.json"
    rules.write_text('{"routing": [\n  {"id": "a", "route": "default", "bogus": 1}\n]}')
    wait_for("rejection", lambda: health(reloading)["reloads_rejected"] > 0)
    first = health(reloading)["last_reload_error"][0]  # errors come before warnings
    assert "test.json:2:" in first  # file:line:col: code: message (at $.path)
    assert "bogus" in first and "(at $." in first
    wait_for("log line", lambda: "reload_rejected" in reloading.proxy.log())


def _swap_link(link: Path, target: str) -> None:
    """Atomically point `link` at `target`: make a new link beside it, rename it over the old one."""
    tmp = link.with_name(link.name + ".new")
    os.symlink(target, tmp)
    os.replace(tmp, link)


def test_configmap_style_symlink_swap_is_seen(tmp_path: Path) -> None:
    """Kubernetes ConfigMap layout: rules/test.json -> ..data/test.json, ..data -> a dated directory,
    and an update swaps ..data in one rename (reliability R8)."""
    with FakeUpstream() as fake:
        fake.always("*", A.auto(A.message(A.text("ok"))))
        config_path = write_stack_files(tmp_path, base_config(fake.url), rules_to("sonnet"))
        rules_dir = tmp_path / "rules"
        for version, alias in (("v1", "sonnet"), ("v2", "backup")):
            (rules_dir / f"..{version}").mkdir()
            (rules_dir / f"..{version}" / "test.json").write_text(json.dumps(rules_to(alias)))
        (rules_dir / "test.json").unlink()
        os.symlink("..v1", rules_dir / "..data")
        os.symlink("..data/test.json", rules_dir / "test.json")
        proxy = start_proxy(config_path, args=("--reload-debounce-ms", "150"))
        stack = Stack(fake, proxy, config_path)
        try:
            target = lambda: stack.post("/v1/messages", REQUEST).headers["x-cc-proxy-target"]  # noqa: E731
            assert target() == "anthropic/claude-sonnet-4-5"
            _swap_link(rules_dir / "..data", "..v2")
            wait_for("the swapped rules", lambda: target() == "compat/backup-model")
            assert health(stack)["reloads"] == 1
        finally:
            proxy.stop()


def test_symlinked_rules_directory_swap_is_seen(tmp_path: Path) -> None:
    """The whole rules directory is a symlink that an update re-points."""
    with FakeUpstream() as fake:
        fake.always("*", A.auto(A.message(A.text("ok"))))
        config_path = write_stack_files(tmp_path, base_config(fake.url), rules_to("sonnet"))
        (tmp_path / "rules").rename(tmp_path / "rules-v1")
        (tmp_path / "rules-v2").mkdir()
        (tmp_path / "rules-v2" / "test.json").write_text(json.dumps(rules_to("backup")))
        os.symlink("rules-v1", tmp_path / "rules")
        proxy = start_proxy(config_path, args=("--reload-debounce-ms", "150"))
        stack = Stack(fake, proxy, config_path)
        try:
            target = lambda: stack.post("/v1/messages", REQUEST).headers["x-cc-proxy-target"]  # noqa: E731
            assert target() == "anthropic/claude-sonnet-4-5"
            _swap_link(tmp_path / "rules", "rules-v2")
            wait_for("the swapped rules", lambda: target() == "compat/backup-model")
        finally:
            proxy.stop()


def test_a_stream_in_flight_keeps_the_snapshot_it_started_with(reloading: Stack) -> None:
    reloading.reset()
    chunks = A.message_stream(A.message(A.text("one two three four five six")), pieces=6)
    reloading.fake.add("/v1/messages", Stream(chunks, delay=0.1))
    reloading.fake.always("*", A.auto(A.message(A.text("ok"))))
    rules = reloading.config_path.parent / "rules" / "test.json"
    stream_request = {**REQUEST, "stream": True}
    with httpx.Client(timeout=20) as client, client.stream(
        "POST", reloading.url + "/v1/messages", json=stream_request, headers={"x-api-key": CLIENT_KEY}
    ) as response:
        started_on = response.headers["x-cc-proxy-config-version"]
        rules.write_text(json.dumps(rules_to("backup")))
        wait_for("the reload", lambda: health(reloading)["config_version"] != started_on)
        body = response.read()
    assert body.rstrip().endswith(b'"type":"message_stop"}')
    assert response.headers["x-cc-proxy-target"] == "anthropic/claude-sonnet-4-5"
    after = reloading.post("/v1/messages", REQUEST)
    assert after.headers["x-cc-proxy-target"] == "compat/backup-model"
    assert after.headers["x-cc-proxy-config-version"] != started_on


def test_unrelated_files_beside_the_config_do_not_trigger_reloads(reloading: Stack) -> None:
    """A log file written next to the config (e.g. `cc-proxy serve > serve.log` in that directory) must
    not make the server re-load and re-reject a broken edit on every log line."""
    rules = reloading.config_path.parent / "rules" / "test.json"
    rules.write_bytes(b'{"routing": [')
    wait_for("rejection", lambda: health(reloading)["reloads_rejected"] == 1)
    before = health(reloading)
    log_file = reloading.config_path.parent / "serve.log"
    for i in range(5):
        with log_file.open("a") as out:
            out.write(f"line {i}\n")
        time.sleep(0.2)  # > the 150 ms debounce: each write would be its own reload
    time.sleep(0.5)
    after = health(reloading)
    assert (after["reloads"], after["reloads_rejected"]) == (before["reloads"], before["reloads_rejected"])


def test_the_watch_backend_loads_without_watchfiles_package_and_is_shared_with_it() -> None:
    """server/reload.py loads watchfiles' extension module alone (its package imports anyio); a later
    `import watchfiles` finds it and uses the very same class. Fresh interpreter: nothing loaded yet."""
    script = (
        "import sys\n"
        "from server.reload import _rust_notify_class\n"
        "backend = _rust_notify_class()\n"
        "alone = sorted(m for m in ('watchfiles', 'watchfiles.main', 'anyio') if m in sys.modules)\n"
        "import watchfiles.main\n"
        "print(alone, watchfiles.main.RustNotify is backend, _rust_notify_class() is backend)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, env=child_env({}), capture_output=True, text=True, timeout=30
    )
    assert done.stdout.strip() == "[] True True", done.stderr
