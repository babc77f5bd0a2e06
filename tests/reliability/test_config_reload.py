"""Config and hot reload R1-R8 (../shared/reliability.md section 2): the live-proxy parts nothing else
tests. Load-time rejection (R4 syntax/depth, R7) is covered by tests/load and tests/engine (CATALOGUE.md)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import anthropic_stream as A
from tests.fakes.server import FakeUpstream
from tests.reliability.conftest import OK, Rel, reliability_config, reliability_rules, start_recorded
from tests.server.conftest import write_stack_files
from tests.server.test_reload import Load, health, wait_for


def _rules(first: dict[str, Any]) -> dict[str, Any]:
    return {"routing": [first, *reliability_rules()["routing"]]}


SWITCH_TO_BACKUP = {"id": "switch", "when": {"model": {"glob": "switch-*"}}, "model": "backup"}
SWITCH_TO_GPT = {"id": "switch", "when": {"model": {"glob": "switch-*"}}, "model": "gpt"}
EVIL_REGEX = {"id": "evil-regex", "when": {"model": {"regex": "^(a+)+$"}}, "model": "backup"}
TYPE_ERROR = {"id": "type-error", "when": {"jmespath": "abs(model) > `1`"}, "model": "backup"}


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Rel]:
    with FakeUpstream() as fake:
        fake.always("*", A.auto(A.message(A.text("ok"))))
        rules = _rules(SWITCH_TO_BACKUP)
        rules["routing"][1:1] = [EVIL_REGEX, TYPE_ERROR]
        config_path = write_stack_files(tmp_path, reliability_config(fake.url, 9), rules)
        proxy = start_recorded(config_path, args=("--reload-debounce-ms", "800"))
        try:
            yield Rel(fake, proxy, config_path)
        finally:
            proxy.stop()


def test_r3_delete_and_recreate_inside_the_debounce_window_is_one_reload(live: Rel) -> None:
    rules_file = live.config_path.parent / "rules" / "test.json"
    before = health(live)
    load = Load(live.url)
    load.results.clear()
    with load:
        wait_for("first answers", lambda: len(load.results) > 3)
        rules_file.unlink()
        time.sleep(0.05)  # well inside the 800 ms debounce
        rules_file.write_text(json.dumps(_rules(SWITCH_TO_GPT)))
        wait_for("the new rules", lambda: health(live)["reloads"] > before["reloads"])
        time.sleep(1.2)  # longer than the debounce: a second reload would have landed by now
    after = health(live)
    assert after["reloads"] == before["reloads"] + 1
    assert after["reloads_rejected"] == before["reloads_rejected"]
    assert load.errors == []
    # Served by the Anthropic-format backup before, by the OpenAI target after (the fake answers in
    # Anthropic format there, so only the backup's answers are checked for 200).
    assert all(status == 200 for status, target, _ in load.results if target == "compat/backup-model")
    assert load.results[-1][1] == "openai/gpt-test"


def test_r4_jmespath_type_error_at_evaluation_is_no_match_not_a_500(live: Rel) -> None:
    response = live.post("/v1/messages", {**OK, "model": "claude-x"})
    assert response.status_code == 200
    assert response.headers["x-cc-proxy-target"] == "anthropic/claude-sonnet-4-5"  # default, not type-error


def test_r5_catastrophic_regex_is_evaluated_in_linear_time(live: Rel) -> None:
    """`^(a+)+$` against 'a'*30+'!': a backtracking engine would take hours; RE2 answers at once, so the
    request completes inside the client's 10 s timeout and falls through to the default route."""
    response = live.post("/v1/messages", {**OK, "model": "a" * 30 + "!"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["x-cc-proxy-target"] == "anthropic/claude-sonnet-4-5"
    matched = live.post("/v1/messages", {**OK, "model": "a" * 30})
    assert matched.headers["x-cc-proxy-target"] == "compat/backup-model"


def test_r1_twenty_rewrites_under_load_fail_nothing_and_each_answer_is_one_snapshot(tmp_path: Path) -> None:
    """Scaled: two client threads (a few hundred requests) during 20 rule rewrites 0.3 s apart. Each
    answer's config version maps to exactly one target: no request mixed two snapshots."""
    with FakeUpstream() as fake:
        fake.always("*", A.auto(A.message(A.text("ok"))))
        config_path = write_stack_files(tmp_path, reliability_config(fake.url, 9), _rules(SWITCH_TO_BACKUP))
        proxy = start_recorded(config_path, args=("--reload-debounce-ms", "50"))
        rel = Rel(fake, proxy, config_path)
        rules_file = config_path.parent / "rules" / "test.json"
        sonnet = {"id": "switch", "when": {"model": {"glob": "switch-*"}}, "model": "sonnet"}
        try:
            with Load(proxy.url) as first, Load(proxy.url) as second:
                wait_for("first answers", lambda: len(first.results) > 3 and len(second.results) > 3)
                for i in range(20):
                    rules_file.write_text(json.dumps(_rules(sonnet if i % 2 == 0 else SWITCH_TO_BACKUP)))
                    # apart by more than the debounce plus a loaded machine's latency: each write is its own burst
                    time.sleep(0.3)
                wait_for("the last rewrite", lambda: health(rel)["reloads"] >= 5)
            results = first.results + second.results
            assert not first.errors and not second.errors, (first.errors[:3], second.errors[:3])
            assert len(results) >= 100
            assert {status for status, _, _ in results} == {200}
            targets_by_version: dict[str, set[str]] = {}
            for _, target, version in results:
                targets_by_version.setdefault(version, set()).add(target)
            assert all(len(targets) == 1 for targets in targets_by_version.values()), targets_by_version
            assert len(targets_by_version) >= 2
        finally:
            proxy.stop()
