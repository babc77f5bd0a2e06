"""R3 (../shared/reliability.md section 2), the part test_config_reload.py leaves out: a rule file matched
by a glob in `rules` and deleted after the debounce window. Its rules leave the served config when the
rest still loads; when the rest does not (the config also names the file without a wildcard, so it
must exist) the old snapshot stays, the rejection is logged and /health says why. Rule files can only
reference the config's routes, aliases and providers, never each other, so an explicit path is the way
a deletion makes the remaining set invalid.

Proved by behaviour: the x-cc-proxy-rule / -route / -target headers of a request the deleted file's
rule routed, and /health's config_version, rule_files and last_reload_error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningProcess
from tests.fakes import anthropic_stream as A
from tests.fakes.server import FakeUpstream
from tests.reliability.conftest import OK, Rel, log_entries, start_recorded
from tests.server.conftest import RULES, base_config, write_stack_files
from tests.server.test_reload import health, wait_for

# extra.json loads before test.json (a glob loads its matches in name order; first match wins), so its
# rule takes `compat-extra-*` from test.json's `to-compat` (`compat-*` -> alias backup).
EXTRA = {"routing": [{"id": "pin-extra", "when": {"model": {"glob": "compat-extra-*"}}, "route": "withFallback"}]}
REQUEST = {**OK, "model": "compat-extra-1"}


def _start(base: Path, rules: list[str]) -> Iterator[Rel]:
    with FakeUpstream() as fake:
        fake.always("*", A.auto(A.message(A.text("ok"))))
        config = base_config(fake.url)
        config["rules"] = rules
        config_path = write_stack_files(base, config, RULES)
        (base / "rules" / "extra.json").write_text(json.dumps(EXTRA))
        proxy = start_recorded(config_path, args=("--reload-debounce-ms", "150"))
        try:
            yield Rel(fake, proxy, config_path)
        finally:
            proxy.stop()


@pytest.fixture
def globbed(tmp_path: Path) -> Iterator[Rel]:
    yield from _start(tmp_path, ["rules/*.json"])


@pytest.fixture
def globbed_and_named(tmp_path: Path) -> Iterator[Rel]:
    yield from _start(tmp_path, ["rules/*.json", "rules/extra.json"])


def _served_by(rel: Rel) -> tuple[str, str, str, str]:
    """(rule, route, target) that served REQUEST (a 200), and the config version that answered it."""
    response = rel.post("/v1/messages", REQUEST)
    assert response.status_code == 200, response.text
    h = response.headers
    return h["x-cc-proxy-rule"], h["x-cc-proxy-route"], h["x-cc-proxy-target"], h["x-cc-proxy-config-version"]


def _events(proxy: RunningProcess, event: str) -> list[dict[str, Any]]:
    return [e for e in log_entries(proxy) if e.get("event") == event]


def _names(files: list[str]) -> list[str]:
    return [Path(f).name for f in files]


def test_r3_a_globbed_rule_file_deleted_after_the_window_takes_its_rules_out(globbed: Rel) -> None:
    rules_dir = globbed.config_path.parent / "rules"
    before = health(globbed)
    assert _names(before["rule_files"]) == ["extra.json", "test.json"]
    assert _served_by(globbed) == ("pin-extra", "withFallback", "anthropic/claude-sonnet-4-5", before["config_version"])

    (rules_dir / "extra.json").unlink()
    wait_for("the reload without extra.json", lambda: health(globbed)["reloads"] > before["reloads"])
    after = health(globbed)
    assert after["config_version"] != before["config_version"]
    assert _names(after["rule_files"]) == ["test.json"]
    assert (after["reloads"], after["reloads_rejected"]) == (before["reloads"] + 1, before["reloads_rejected"])
    assert after["last_reload_error"] is None
    # The request the deleted rule routed now goes by the next rule that matches it.
    assert _served_by(globbed) == ("to-compat", "-", "compat/backup-model", after["config_version"])
    reloaded = _events(globbed.proxy, "reloaded")[-1]
    assert (reloaded["previous"], reloaded["version"]) == (before["config_version"], after["config_version"])
    assert _names(reloaded["rule_files"]) == ["test.json"]

    # The last file the glob matched goes too: a glob matching nothing is a warning, the config still
    # loads (with no rules), and the request falls through to the default route.
    (rules_dir / "test.json").unlink()
    wait_for("the reload with no rule file", lambda: health(globbed)["reloads"] > after["reloads"])
    empty = health(globbed)
    assert empty["rule_files"] == [] and empty["last_reload_error"] is None
    assert _served_by(globbed) == ("-", "default", "anthropic/claude-sonnet-4-5", empty["config_version"])
    warnings = lambda: [e["problem"] for e in _events(globbed.proxy, "config_warning")]  # noqa: E731
    wait_for("the warning", lambda: any("rules-no-match" in w for w in warnings()))
    assert not _events(globbed.proxy, "reload_rejected")


def test_r3_a_deleted_file_the_rest_needs_keeps_the_old_snapshot_and_says_why(globbed_and_named: Rel) -> None:
    rel = globbed_and_named
    before = health(rel)
    assert _names(before["rule_files"]) == ["extra.json", "test.json"]  # named twice, loaded once
    old = before["config_version"]
    assert _served_by(rel) == ("pin-extra", "withFallback", "anthropic/claude-sonnet-4-5", old)

    (rel.config_path.parent / "rules" / "extra.json").unlink()
    wait_for("the rejection", lambda: health(rel)["reloads_rejected"] > before["reloads_rejected"])
    after = health(rel)
    assert (after["config_version"], after["reloads"]) == (old, before["reloads"])
    assert _names(after["rule_files"]) == ["extra.json", "test.json"]
    problem, *others = after["last_reload_error"]  # errors first, then the config's warnings
    assert "rules-not-found" in problem and "rules/extra.json" in problem and "(at $.rules[1])" in problem
    assert all(": warning: " in line for line in others)
    assert _served_by(rel) == ("pin-extra", "withFallback", "anthropic/claude-sonnet-4-5", old)  # the old rules
    wait_for("the log line", lambda: bool(_events(rel.proxy, "reload_rejected")))
    (rejected,) = _events(rel.proxy, "reload_rejected")
    assert (rejected["level"], rejected["kept"]) == ("error", old)
    assert rejected["problems"] == after["last_reload_error"]

    # The fix goes live on the next save: the config no longer names the file.
    config = json.loads(rel.config_path.read_text())
    config["rules"] = ["rules/*.json"]
    rel.config_path.write_text(json.dumps(config))
    wait_for("the fixed config", lambda: health(rel)["reloads"] > before["reloads"])
    fixed = health(rel)
    assert fixed["last_reload_error"] is None and _names(fixed["rule_files"]) == ["test.json"]
    assert _served_by(rel) == ("to-compat", "-", "compat/backup-model", fixed["config_version"])

