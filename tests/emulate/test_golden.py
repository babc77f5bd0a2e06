"""Every tests/cases/emulate/<case>/: the prepared request and notes equal `expected.json` exactly."""

from __future__ import annotations

import json

import pytest

from tests.emulate.golden import CASES_DIR, case_names, prepare_case, request_input, run_case


@pytest.mark.parametrize("name", case_names())
def test_golden_case(name: str) -> None:
    expected = json.loads((CASES_DIR / name / "expected.json").read_text())
    assert run_case(name) == expected


@pytest.mark.parametrize("name", case_names())
def test_input_is_not_mutated(name: str) -> None:
    """The prepared request shares subtrees with the decided one: preparing must never edit them."""
    request = request_input(name)
    before = json.dumps(request, sort_keys=True)
    prepare_case(name, request)
    assert json.dumps(request, sort_keys=True) == before
