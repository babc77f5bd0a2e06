"""Hot reload: watch the directories of the config and rule files, reload, swap or keep the old one.

Directories, not files: editors save by writing a temporary file and renaming it over the original,
and Kubernetes-style configs swap a symlink; both replace the inode a file watch would be holding.
A load that fails (half-written file, bad rule) keeps the running snapshot and reports every problem
in `cc-proxy check`'s format; the next valid save goes live.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.machinery
import importlib.util
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from cc_proxy.engine.errors import ConfigError
from cc_proxy.engine.snapshot import Snapshot
from cc_proxy.server.holder import SnapshotHolder
from cc_proxy.server.logging_setup import log_event
from cc_proxy.server.wire_registry import formats_of, prepare_wires

log = logging.getLogger("cc_proxy")

# Editor droppings that never change what is loaded.
_IGNORED_SUFFIXES = (".swp", ".swx", ".swo", "~", ".tmp", ".bak")

WATCH_STEP_MS = 50  # how often the watch thread looks at its stop flag, and the quiet time closing a burst
WATCH_RETRY_S = 1.0  # after a watch could not be set up
MISSING_CODES = frozenset({"config-not-found", "rules-not-found"})
MISSING_WAIT_MS = 2000  # at least this long for a file that vanished in a save to come back
POLL_DELAY_MS = 300  # only with WATCHFILES_FORCE_POLLING (network filesystems without inotify)

Loader = Callable[[str | None], Any]  # server.config_files.load_from_disk: path -> LoadedConfig
# A new snapshot -> why the running server must not use it (None: fine), e.g. a non-loopback listener
# whose auth_token the new config removes (server.settings.bind_refusal).
Guard = Callable[[Snapshot], str | None]


def watch_dirs(paths: tuple[str, ...]) -> tuple[str, ...]:
    """The directories to watch: each path's directory (a path that is a directory is watched itself)."""
    dirs: list[str] = []
    for path in paths:
        path = os.path.abspath(path)
        directory = path if os.path.isdir(path) else os.path.dirname(path)
        while directory and not os.path.isdir(directory):  # a glob's directory may not exist yet
            directory = os.path.dirname(directory)
        candidates = [directory]
        if os.path.islink(directory):  # a symlinked directory is swapped by replacing the link itself
            candidates.append(os.path.dirname(directory))
        for candidate in candidates:
            if candidate and candidate not in dirs:
                dirs.append(candidate)
    return tuple(dirs)


def relevant(path: str, known: frozenset[str]) -> bool:
    """Only changes that can alter what is loaded: a known config or rule file, a directory holding one
    (a swapped symlinked rules directory), any `*.json` (a new file a rule glob may match), or a
    Kubernetes-style `..data` symlink swap. Anything else in those
    directories (a log file the server itself writes there, editor droppings) is ignored, or each log
    line of a rejected reload would trigger the next one."""
    name = os.path.basename(path)
    if name.endswith(_IGNORED_SUFFIXES) or name.startswith(".#") or name == "4913":  # vim's probe
        return False
    if name.endswith(".json") or name.startswith(".."):
        return True
    path = os.path.abspath(path)
    return path in known or any(k.startswith(path + os.sep) for k in known)


def try_reload(
    holder: SnapshotHolder,
    config_path: str | None,
    load: Loader,
    guard: Guard | None = None,
    *,
    missing_is_pending: bool = False,
) -> bool | None:
    """Load from disk; swap on success (and a new version), report on failure. True when swapped.
    A snapshot `guard` refuses is rejected like an invalid config: the old one keeps serving.
    `missing_is_pending`: a config or rule file that does not exist (an editor's save renames it away,
    then writes the new one) is reported as None, nothing logged as an error: the caller waits for it."""
    try:
        loaded = load(config_path)
    except ConfigError as err:
        missing = [p.file for p in err.problems if p.code in MISSING_CODES]
        if missing_is_pending and missing:
            log_event(log, logging.INFO, "reload_waiting", missing=missing, kept=holder.current.version)
            return None
        # Errors first: they are why the reload failed; warnings follow as `check` would print them.
        ordered = sorted(err.problems, key=lambda p: p.severity != "error")
        problems = tuple(p.render() for p in ordered)
        holder.reject(problems)
        log_event(log, logging.ERROR, "reload_rejected", kept=holder.current.version, problems=list(problems))
        return False
    except Exception as exc:  # an unexpected loader failure must never take the server down
        holder.reject((f"{config_path}: internal-error: {type(exc).__name__}: {exc}",))
        log_event(log, logging.ERROR, "reload_failed", kept=holder.current.version, exception=type(exc).__name__)
        return False
    snapshot = loaded.snapshot
    watch = tuple(loaded.watch_paths)
    refusal = guard(snapshot) if guard is not None else None
    if refusal is not None:
        problem = f"{config_path}: unsafe-reload: {refusal}"
        holder.reject((problem,))
        log_event(log, logging.ERROR, "reload_rejected", kept=holder.current.version, problems=[problem])
        return False
    if snapshot.version == holder.current.version:
        holder.watch_paths = watch
        holder.last_error = None
        return False
    old = holder.current.version
    prepare_wires(formats_of(snapshot))  # before the swap: the first request on a new format pays nothing
    holder.swap(snapshot, watch)
    for warning in snapshot.warnings:
        log_event(log, logging.WARNING, "config_warning", problem=warning.render())
    log_event(
        log, logging.INFO, "reloaded", version=snapshot.version, previous=old, rule_files=list(snapshot.rule_files)
    )
    return True


async def watch_and_reload(
    holder: SnapshotHolder,
    config_path: str | None,
    load: Loader,
    stop: asyncio.Event,
    *,
    debounce_ms: int = 1600,
    start_delay: float = 0.0,
    guard: Guard | None = None,
) -> None:
    """Runs until `stop` is set; the watching and the loads happen on one thread of their own.

    `start_delay`: wait this long first, so the watcher's start (~25 ms: its imports, a thread) does not
    delay the first answers; a change made meanwhile is caught by one reload check that runs once the
    watch is in place."""
    if config_path is None:
        return  # the built-in default has no file to watch
    if start_delay > 0:
        try:
            await asyncio.wait_for(stop.wait(), start_delay)
            return
        except TimeoutError:
            pass
    halt = threading.Event()
    ended = asyncio.Event()
    loop = asyncio.get_running_loop()

    def run() -> None:
        try:
            _watch(holder, config_path, load, halt, debounce_ms, catch_up=start_delay > 0, guard=guard)
        finally:
            with contextlib.suppress(RuntimeError):  # the loop is already closed: nobody waits
                loop.call_soon_threadsafe(ended.set)

    # daemon: a stuck load must never keep the process from exiting
    threading.Thread(target=run, name="cc-proxy-reload", daemon=True).start()
    try:
        await stop.wait()
    finally:
        halt.set()  # the watch sees it within one step
    await ended.wait()


def _rust_notify_class() -> Any:
    """watchfiles' documented low-level backend. Its package __init__ imports watchfiles.main, which
    imports anyio (~0.4 MB resident, never used here): the extension module is loaded by itself, through
    the standard finder for its directory, and registered under its own name so a later
    `import watchfiles` reuses it. Any surprise falls back to the plain import."""
    name = "watchfiles._rust_notify"
    if name in sys.modules:
        return sys.modules[name].RustNotify
    try:
        package = importlib.util.find_spec("watchfiles")  # locates the package without running it
        locations = list(package.submodule_search_locations or ()) if package else []
        finder = importlib.machinery.FileFinder(
            locations[0], (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES)
        )
        spec = finder.find_spec(name)
        if spec is None or spec.loader is None:
            raise ImportError(name)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except (ImportError, IndexError, OSError):
        from watchfiles._rust_notify import RustNotify

        return RustNotify
    sys.modules[name] = module
    return module.RustNotify


def settle(notify: Any, known: frozenset[str], debounce_ms: int, halt: threading.Event) -> set[str]:
    """More relevant changed paths, until none has come for `debounce_ms`: a burst (an editor's save, a
    `git checkout`) is loaded once, `debounce_ms` after its last change. Irrelevant changes (a log file
    in the same directory) neither count nor extend the wait."""
    more: set[str] = set()
    quiet_since = time.monotonic()
    while not halt.is_set():
        left = debounce_ms - (time.monotonic() - quiet_since) * 1000
        if left <= 0:
            break
        changes = notify.watch(WATCH_STEP_MS, WATCH_STEP_MS, max(1, int(left)), halt)
        if not isinstance(changes, set):
            continue  # "timeout": quiet for the rest of the window; "stop": halt is set
        paths = {path for _change, path in changes if relevant(path, known)}
        if paths:
            more |= paths
            quiet_since = time.monotonic()
    return more


def next_change(notify: Any, known: frozenset[str], timeout_ms: int, halt: threading.Event) -> bool:
    """Wait up to `timeout_ms` for a relevant change; True when one came."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not halt.is_set():
        left = int((deadline - time.monotonic()) * 1000)
        if left <= 0:
            return False
        changes = notify.watch(WATCH_STEP_MS, WATCH_STEP_MS, left, halt)
        if isinstance(changes, set) and any(relevant(path, known) for _change, path in changes):
            return True
    return False


def _watch(
    holder: SnapshotHolder,
    config_path: str,
    load: Loader,
    halt: threading.Event,
    debounce_ms: int,
    *,
    catch_up: bool,
    guard: Guard | None = None,
) -> None:
    """The watcher thread. One thread, not awatch's worker plus a loader thread: ~1 MB less resident
    memory, and a load never runs twice at once. The watch set is recomputed after every load."""
    RustNotify = _rust_notify_class()

    force_polling = os.environ.get("WATCHFILES_FORCE_POLLING", "").lower() not in ("", "false", "disable", "disabled")
    while not halt.is_set():
        dirs = watch_dirs((config_path, *holder.watch_paths))
        if not dirs:
            return
        try:
            with RustNotify(list(dirs), False, force_polling, POLL_DELAY_MS, False, False) as notify:
                if catch_up:  # the watch is registered: a change from now on is seen, an earlier one loaded here
                    catch_up = False
                    try_reload(holder, config_path, load, guard)
                while not halt.is_set():
                    changes = notify.watch(debounce_ms, WATCH_STEP_MS, 0, halt)
                    if not isinstance(changes, set):
                        continue  # "stop" (halt is set) or "timeout"/"signal": the loop condition decides
                    # the known set follows reloads that add rule files in the same directories
                    known = frozenset(os.path.abspath(p) for p in (config_path, *holder.watch_paths))
                    first = {path for _change, path in changes if relevant(path, known)}
                    if not first:
                        continue
                    paths = sorted(first | settle(notify, known, debounce_ms, halt))
                    log_event(log, logging.DEBUG, "config_changed", files=paths)
                    if try_reload(holder, config_path, load, guard, missing_is_pending=True) is None:
                        # back within the wait: the save's second half; still missing: really gone, an error
                        if next_change(notify, known, max(debounce_ms, MISSING_WAIT_MS), halt):
                            settle(notify, known, debounce_ms, halt)
                        try_reload(holder, config_path, load, guard)
                    if watch_dirs((config_path, *holder.watch_paths)) != dirs:
                        break  # rule files moved to other directories: restart the watch on the new set
        except Exception as exc:  # e.g. a watched directory vanished meanwhile: look again shortly
            log_event(log, logging.WARNING, "watch_failed", error=f"{type(exc).__name__}: {exc}")
            halt.wait(WATCH_RETRY_S)
