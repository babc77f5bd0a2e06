"""The file watcher starts after a delay (so it does not slow the first answers): a config change made
before it is watching is still loaded, by the one check that runs once the watch is in place."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from cc_proxy.server.config_files import load_from_disk
from cc_proxy.server.holder import SnapshotHolder
from cc_proxy.server.reload import watch_and_reload


def _config(path: Path, model: str) -> None:
    config = {
        "providers": {"p": {"format": "anthropic", "base_url": "http://127.0.0.1:9", "api_key": "k"}},
        "models": {"m": {"provider": "p", "model": model}},
        "routes": {"default": "m"},
        "rules": [],
    }
    path.write_text(json.dumps(config))


async def _watch_while(holder: SnapshotHolder, config: Path, change_during_delay: bool) -> str:
    stop = asyncio.Event()
    task = asyncio.create_task(
        watch_and_reload(holder, str(config), load_from_disk, stop, debounce_ms=50, start_delay=0.2)
    )
    if change_during_delay:
        _config(config, "changed-before-the-watch")
    for _ in range(200):  # up to ~10 s: the catch-up check loads in a thread
        await asyncio.sleep(0.05)
        if holder.current.models["m"].upstream_model == "changed-before-the-watch":
            break
    stop.set()
    await asyncio.wait_for(task, 10)
    return str(holder.current.models["m"].upstream_model)


def test_change_during_the_start_delay_is_loaded(tmp_path: Path) -> None:
    config = tmp_path / "cc-proxy.json"
    _config(config, "first")
    loaded = load_from_disk(str(config))
    holder = SnapshotHolder(loaded.snapshot, tuple(loaded.watch_paths))
    assert asyncio.run(_watch_while(holder, config, change_during_delay=True)) == "changed-before-the-watch"


def test_stop_during_the_start_delay_ends_the_watcher(tmp_path: Path) -> None:
    config = tmp_path / "cc-proxy.json"
    _config(config, "first")
    loaded = load_from_disk(str(config))
    holder = SnapshotHolder(loaded.snapshot, tuple(loaded.watch_paths))

    async def run() -> None:
        stop = asyncio.Event()
        stop.set()
        await asyncio.wait_for(watch_and_reload(holder, str(config), load_from_disk, stop, start_delay=5), 2)

    asyncio.run(run())
    assert holder.current.version == loaded.snapshot.version
