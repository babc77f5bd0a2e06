"""Hot reload: watch the directories of the config and rule files, reload, swap or keep the old one.

Directories, not files: editors save by writing a temporary file and renaming it over the original,
and Kubernetes-style configs swap a symlink; both replace the inode a file watch would be holding.
A load that fails (half-written file, bad rule) keeps the running snapshot and reports every problem
in `cc-proxy check`'s format; the next valid save goes live.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import Any

from engine.errors import ConfigError
from server.holder import SnapshotHolder
from server.logging_setup import log_event

log = logging.getLogger("cc_proxy")

# Editor droppings that never change what is loaded.
_IGNORED_SUFFIXES = (".swp", ".swx", ".swo", "~", ".tmp", ".bak")

Loader = Callable[[str | None], Any]  # server.config_files.load_from_disk: path -> LoadedConfig


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


def try_reload(holder: SnapshotHolder, config_path: str | None, load: Loader) -> bool:
    """Load from disk; swap on success (and a new version), report on failure. True when swapped."""
    try:
        loaded = load(config_path)
    except ConfigError as err:
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
    if snapshot.version == holder.current.version:
        holder.watch_paths = watch
        holder.last_error = None
        return False
    old = holder.current.version
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
) -> None:
    """Runs until `stop` is set. The watch set is recomputed after every load (new rule files).

    `start_delay`: wait this long first, so the watcher's start (~25 ms: anyio's imports, a thread)
    does not delay the first answers; a change made meanwhile is caught by one reload check that runs
    once the watch is in place."""
    if config_path is None:
        return  # the built-in default has no file to watch
    catch_up: asyncio.Task[bool] | None = None
    if start_delay > 0:
        try:
            await asyncio.wait_for(stop.wait(), start_delay)
            return
        except TimeoutError:
            pass
    from watchfiles import awatch

    while not stop.is_set():
        dirs = watch_dirs((config_path, *holder.watch_paths))
        if not dirs:
            return
        if start_delay > 0 and catch_up is None:
            # Runs once this task yields inside awatch, i.e. after its watch is registered: no gap.
            catch_up = asyncio.create_task(asyncio.to_thread(try_reload, holder, config_path, load))
        async for changes in awatch(
            *dirs,
            stop_event=stop,
            debounce=debounce_ms,
            recursive=False,
            # the known set follows reloads that add rule files in the same directories
            watch_filter=lambda _change, path: relevant(
                path, frozenset(os.path.abspath(p) for p in (config_path, *holder.watch_paths))
            ),
        ):
            log_event(log, logging.DEBUG, "config_changed", files=sorted({p for _, p in changes}))
            await asyncio.to_thread(try_reload, holder, config_path, load)
            if watch_dirs((config_path, *holder.watch_paths)) != dirs:
                break  # rule files moved to other directories: restart the watch on the new set
