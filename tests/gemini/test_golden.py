"""Golden cases (tests/cases/gemini/*): exact upstream requests, messages and client streams."""

from __future__ import annotations

import json

import pytest

from tests.gemini import golden
from tests.openai.invariants import check_stream

CASES = golden.case_names()


def test_readme_describes_every_case() -> None:
    assert (golden.CASES_DIR / "README.md").read_text() == golden.readme()


@pytest.mark.parametrize("name", CASES)
def test_case(name: str) -> None:
    folder = golden.CASES_DIR / name
    checked = 0
    request = golden.run_request(name)
    if request is not None:
        assert request == json.loads((folder / "upstream_request.json").read_text())
        assert "sk-client-secret" not in json.dumps(request)  # the client's credential never travels on
        checked += 1
    response = golden.run_response(name)
    if response is not None:
        assert response == json.loads((folder / "anthropic_response.json").read_text())
        checked += 1
    stream = golden.run_stream(name)
    if stream is not None:
        assert stream.decode() == (folder / "client.sse").read_text()
        events, translator = golden.translate_stream(golden.load_case(name), (folder / "upstream.sse").read_bytes())
        check_stream(events, cut=not translator.done)
        assert translator.completed == (events[-1].event == "message_stop")
        checked += 1
    assert checked, f"{name} has no input"
