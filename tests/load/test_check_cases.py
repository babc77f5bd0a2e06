"""Golden `cc-proxy check` cases: tests/cases/check/<case>/ holds a config (cc-proxy.json unless
case.json says otherwise), its rule files, expected.txt (the exact stdout) and case.json
({"exit": N, "args": [...], "env": {...}}). Run through the real CLI entry, from the case directory,
with every ${VAR} the case mentions unset unless case.json sets it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cc_proxy.server.cli import main

CASES_DIR = Path(__file__).resolve().parents[1] / "cases" / "check"
CASES = sorted(p for p in CASES_DIR.iterdir() if p.is_dir())
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _referenced_vars(case: Path) -> set[str]:
    names: set[str] = set()
    for path in case.rglob("*.json"):
        names.update(ENV_REF.findall(path.read_text(encoding="utf-8", errors="replace")))
    return names


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_check_case(case: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    spec = json.loads((case / "case.json").read_text())
    monkeypatch.chdir(case)
    monkeypatch.delenv("CC_PROXY_CONFIG", raising=False)
    for name in _referenced_vars(case):
        monkeypatch.delenv(name, raising=False)
    for name, value in spec.get("env", {}).items():
        monkeypatch.setenv(name, value)
    code = main(["check", *spec.get("args", ["--config", "cc-proxy.json"])])
    out = capsys.readouterr().out
    expected = (case / "expected.txt").read_text()
    assert out == expected
    assert code == spec["exit"]
    for value in spec.get("env", {}).values():
        assert value not in out, "a configured secret leaked into check's output"
