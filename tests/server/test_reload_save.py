"""An editor's save as it really happens, and --reload-debounce-ms as documented: a burst of changes is
loaded once, no sooner than the debounce after its last change; a config file that is missing for a
moment in the middle (vim: rename the old one away, write the new one) is not an error."""

from __future__ import annotations

import datetime
import json
import os
import time
from pathlib import Path

from tests.fakes import anthropic_stream as A
from tests.fakes.server import FakeUpstream
from tests.server.conftest import RULES, base_config, start_proxy, write_stack_files
from tests.server.test_reload import wait_for

DEBOUNCE_MS = 700


def log_lines(text: str, event: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == event]


def stamp(line: dict[str, object]) -> float:
    return datetime.datetime.strptime(str(line["ts"]), "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.UTC).timestamp()


def health(url: str) -> dict[str, object]:
    import httpx

    result: dict[str, object] = httpx.get(url + "/health").json()
    return result


def test_a_vim_style_save_is_one_reload_after_the_debounce_and_no_error(tmp_path: Path) -> None:
    with FakeUpstream() as fake:
        fake.always("*", A.auto(A.message(A.text("ok"))))
        config = base_config(fake.url)
        config_path = write_stack_files(tmp_path, config, RULES)
        proxy = start_proxy(config_path, args=("--reload-debounce-ms", str(DEBOUNCE_MS)))
        try:
            wait_for("the watcher", lambda: "reload" in proxy.log() or health(proxy.url)["uptime_s"] > 1)  # type: ignore[operator]
            before = health(proxy.url)
            # vim's default (backupcopy=auto on a plain file): rename away, write a new file, drop the backup
            backup = config_path.with_name(config_path.name + "~")
            os.rename(config_path, backup)
            time.sleep(0.3)  # the file is missing for a while: longer than a quick save, shorter than the debounce
            changed = {**config, "server": {**config.get("server", {}), "count_tokens": "local"}}
            changed["models"] = {**config["models"], "extra": {"provider": "anthropic", "model": "claude-extra"}}
            config_path.write_text(json.dumps(changed, indent=2))
            last_change = time.time()
            backup.unlink()
            wait_for("the reload", lambda: health(proxy.url)["reloads"] != before["reloads"])
            time.sleep(DEBOUNCE_MS / 1000 + 0.5)  # a second reload of the same burst would be logged by now
            after = health(proxy.url)
            log = proxy.log()
        finally:
            proxy.stop()
    assert after["reloads"] == before["reloads"] + 1  # type: ignore[operator]
    assert after["reloads_rejected"] == before["reloads_rejected"]
    assert log_lines(log, "reload_rejected") == []
    assert not [line for line in log_lines(log, "reload_waiting") if line.get("level") == "error"]
    (reloaded,) = log_lines(log, "reloaded")
    # the debounce counts from the burst's last change (log stamps are to the millisecond)
    assert stamp(reloaded) >= last_change + DEBOUNCE_MS / 1000 - 0.002
