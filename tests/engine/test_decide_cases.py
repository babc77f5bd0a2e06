"""Golden decision cases: tests/cases/decide/<case>/ holds config.json + rules.json (loaded by the very
loader `serve` uses), request.json (a body, or {"fixture": <real Claude Code capture>, "patch": [...]}),
optional headers.json, and expected.json (route, rule, target, trace, and the rewritten request as a JSON
Patch of the input, or the error)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from cc_proxy.engine.decide import decide
from cc_proxy.engine.errors import ProxyError
from cc_proxy.engine.load import build_snapshot, parse_config
from cc_proxy.engine.snapshot import Snapshot
from cc_proxy.engine.source import SourceFile
from cc_proxy.engine.tokens import TokenEstimator
from cc_proxy.server.commands.explain import parse_request
from tests.conftest import claude_code_fixture
from tests.engine.jsonpatch import apply_patch

CASES_DIR = Path(__file__).resolve().parents[1] / "cases" / "decide"
CASES = sorted(p for p in CASES_DIR.iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def estimator() -> TokenEstimator:
    from cc_proxy.server.tokens import build_estimator

    return build_estimator()


def load_snapshot(case: Path) -> Snapshot:
    """Through engine.load, as `serve` does (cases name their rule files plainly: no globs, no env)."""
    doc = parse_config(SourceFile(str(case / "config.json"), (case / "config.json").read_bytes()))
    rule_files = [case / pattern for pattern in doc.rule_patterns]
    return build_snapshot(doc, [SourceFile(str(p), p.read_bytes()) for p in rule_files], env={})


def load_request(case: Path) -> tuple[dict[str, Any], dict[str, str]]:
    raw = json.loads((case / "request.json").read_text())
    headers: dict[str, str] = {}
    if "fixture" in raw:
        fixture = json.loads(claude_code_fixture(raw["fixture"]).read_text())
        body, headers = parse_request(fixture)
        body = apply_patch(body, raw.get("patch", []))
    else:
        body = raw
    headers_file = case / "headers.json"
    if headers_file.exists():
        headers.update({k.lower(): v for k, v in json.loads(headers_file.read_text()).items()})
    return body, headers


def trace_marks(trace: Any) -> list[str]:
    return [f"{'+' if s.matched else '-'}{s.phase}:{s.rule_id or ''}" for s in trace]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_decide_case(case: Path, estimator: TokenEstimator) -> None:
    expected = json.loads((case / "expected.json").read_text())
    snapshot = load_snapshot(case)
    body, headers = load_request(case)
    before = copy.deepcopy(body)

    if "error" in expected:
        with pytest.raises(ProxyError) as err:
            decide(snapshot, body, headers, estimator)
        want = expected["error"]
        assert (err.value.status, err.value.error_type) == (want["status"], want["type"])
        for fragment in want["message_contains"]:
            assert fragment in err.value.message
        return

    decision = decide(snapshot, body, headers, estimator)
    assert body == before, "decide mutated the client's request"
    assert decision.route == expected["route"]
    assert decision.rule_id == expected["rule_id"]
    assert decision.target.alias == expected["target"]
    assert decision.target.provider.name == expected["provider"]
    assert decision.request["model"] == expected["upstream_model"]
    if "fallbacks" in expected:
        assert [f.alias for f in decision.fallbacks] == expected["fallbacks"]
    if "trace" in expected:
        assert trace_marks(decision.trace) == expected["trace"]
    if "tokens_computed" in expected:
        assert decision.features.tokens_computed is expected["tokens_computed"]
    if "tokens_between" in expected:
        low, high = expected["tokens_between"]
        assert low <= decision.features.tokens <= high
    if "features" in expected:
        summary = decision.features.summary(tokens=False)
        assert {k: summary[k] for k in expected["features"]} == expected["features"]
    assert decision.request == apply_patch(before, expected["request_patch"])
