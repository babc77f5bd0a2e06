"""Golden cases for the pre-translation step (engine.emulate): tests/cases/emulate/<case>/.

Each folder holds `case.json` (description, `profile`: a built-in name or `{"extends": ..., overrides}`,
and `request_fixture` naming a real Claude Code body, or a `request.json` beside it) and `expected.json`:
the request the wire builder gets and the notes `explain` shows.

Regenerate expected files after a deliberate change, then review the diff:
    .venv/bin/python -m tests.emulate.golden --write [case ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from cc_proxy.engine.emulate import Prepared, prepare
from cc_proxy.engine.features import Features
from cc_proxy.engine.tokens import TokenEstimator
from cc_proxy.server.pdf_text import pdf_text
from tests.openai.support import make_target

CASES_DIR = Path(__file__).resolve().parents[1] / "cases" / "emulate"
FIXTURES_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "claude-code"


def case_names() -> list[str]:
    return sorted(p.name for p in CASES_DIR.iterdir() if (p / "case.json").is_file())


def load_case(name: str) -> dict[str, Any]:
    case: dict[str, Any] = json.loads((CASES_DIR / name / "case.json").read_text())
    return case


def request_input(name: str) -> dict[str, Any]:
    case = load_case(name)
    path = FIXTURES_DIR / case["request_fixture"] if "request_fixture" in case else CASES_DIR / name / "request.json"
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def words(text: str) -> int:
    """The test token counter: one token a word, so expected counts can be checked by eye."""
    return len(text.split())


def prepare_case(name: str, request: dict[str, Any]) -> Prepared:
    case = load_case(name)
    target = make_target(case.get("profile", "openai"), **case.get("target", {}))
    headers: dict[str, str] = case.get("headers", {})
    return prepare(target, request, Features(request, headers, TokenEstimator(words)), headers, pdf_text)


def run_case(name: str) -> dict[str, Any]:
    prepared = prepare_case(name, request_input(name))
    out: dict[str, Any] = {"notes": list(prepared.notes), "request": prepared.request}
    if prepared.context_management is not None:
        out["context_management"] = prepared.context_management
    if prepared.headers:
        out["headers"] = dict(prepared.headers)
    return out


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or args[0] != "--write":
        sys.exit(__doc__)
    for case_name in args[1:] or case_names():
        (CASES_DIR / case_name / "expected.json").write_text(dump_json(run_case(case_name)))
        sys.stdout.write(f"wrote {case_name}\n")
