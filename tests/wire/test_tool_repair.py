"""Tool-call repair (engine.wire.tool_repair) on golden cases from real weak-model outputs:
tests/cases/tool_repair/<case>/input.json (the tool, its input_schema, the arguments as sent, where
the case comes from) and expected.json (the input the client gets, and whether it counts as repaired)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from cc_proxy.engine.wire.tool_hold import ToolInputHold
from cc_proxy.engine.wire.tool_repair import RAW_ARGUMENTS_KEY, ToolRepair, Validators, repair_message
from cc_proxy.engine.wire.types import SSEEvent

CASES = Path(__file__).resolve().parents[1] / "cases" / "tool_repair"
NAMES = sorted(p.name for p in CASES.iterdir() if p.is_dir())


def load(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    folder = CASES / name
    return json.loads((folder / "input.json").read_text()), json.loads((folder / "expected.json").read_text())


def repairer(case: dict[str, Any], validators: Validators | None = None) -> ToolRepair:
    tools = [{"name": case["tool"], "input_schema": case["input_schema"]}]
    return ToolRepair(tools, validators if validators is not None else Validators())


@pytest.mark.parametrize("name", NAMES)
def test_streamed_arguments(name: str) -> None:
    case, expected = load(name)
    repair = repairer(case)
    found = repair.repair_raw(case["tool"], case["arguments"])
    assert (found.value, found.repaired) == (expected["input"], expected["repaired"])
    assert repair.count == int(expected["repaired"])


@pytest.mark.parametrize("name", NAMES)
def test_a_whole_answer(name: str) -> None:
    """The non-stream path: the translators give unparseable arguments as {"_raw_arguments": ...}."""
    case, expected = load(name)
    try:
        parsed = orjson.loads(case["arguments"])
        sent = parsed if isinstance(parsed, dict) else {RAW_ARGUMENTS_KEY: case["arguments"]}
    except orjson.JSONDecodeError:
        sent = {RAW_ARGUMENTS_KEY: case["arguments"]}
    message = {"type": "message", "content": [{"type": "tool_use", "id": "t1", "name": case["tool"], "input": sent}]}
    repair = repairer(case)
    repair_message(message, repair)
    got = message["content"][0]["input"]
    if expected["repaired"]:
        assert got == expected["input"]
    else:
        assert got == sent  # unchanged, the marker included


@pytest.mark.parametrize("name", NAMES)
def test_a_stream_holds_tool_input_to_the_block_end(name: str) -> None:
    case, expected = load(name)
    raw = case["arguments"]
    pieces = [raw[i : i + 7] for i in range(0, len(raw), 7)]

    def ev(kind: str, body: dict[str, Any]) -> SSEEvent:
        return SSEEvent(json.dumps({"type": kind, **body}), kind)

    events = [
        ev("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        ev("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "Let me look."}}),
        ev("content_block_stop", {"index": 0}),
        ev(
            "content_block_start",
            {"index": 1, "content_block": {"type": "tool_use", "id": "t", "name": case["tool"], "input": {}}},
        ),
        *[
            ev("content_block_delta", {"index": 1, "delta": {"type": "input_json_delta", "partial_json": p}})
            for p in pieces
        ],
        ev("content_block_stop", {"index": 1}),
    ]
    hold = ToolInputHold(repairer(case))
    out = [hold.feed([e]) for e in events]
    assert [len(o) for o in out[:4]] == [1, 1, 1, 1]  # text passes at once
    assert all(o == [] for o in out[4:-1])  # tool input is held
    delta, stop = out[-1]
    assert json.loads(stop.data) == {"type": "content_block_stop", "index": 1}
    sent = json.loads(delta.data)["delta"]["partial_json"]
    if expected["repaired"]:
        assert json.loads(sent) == expected["input"]
    else:
        assert sent == raw
    assert hold.finish() == []


def test_validators_are_built_once_per_schema() -> None:
    case, _ = load("read-offset-as-string")
    validators = Validators()
    for _ in range(3):
        repairer(case, validators).repair_raw(case["tool"], case["arguments"])
    assert len(validators) == 1
    other = {**case, "input_schema": {**case["input_schema"], "required": []}}
    repairer(other, validators).repair_raw(case["tool"], case["arguments"])
    assert len(validators) == 2


def test_an_unknown_tool_or_a_broken_schema_is_only_parsed() -> None:
    repair = ToolRepair([{"name": "t", "input_schema": {"type": 12}}], Validators())
    assert repair.repair_raw("t", "{'a': '1'}").value == {"a": "1"}
    assert repair.repair_raw("other", '{"a": "1"}').repaired is False
