"""A whole message replayed as an Anthropic stream: golden cases (tests/cases/replay, shapes from
protocols.md 1.7), and the properties that make it safe: the grammar holds and the real anthropic SDK
accumulates the events back into the very message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from anthropic.lib.streaming._messages import accumulate_event
from hypothesis import given
from hypothesis import strategies as st

from cc_proxy.engine.wire.replay import replay
from cc_proxy.engine.wire.sse import SSEDecoder
from tests.openai.invariants import check_stream

CASES = Path(__file__).parent.parent / "cases" / "replay"
CASE_DIRS = sorted(p for p in CASES.iterdir() if p.is_dir())


def _accumulate(sse: bytes) -> dict[str, Any]:
    snapshot = None
    bufs: dict[int, bytes] = {}
    for event in SSEDecoder().feed(sse):
        payload = json.loads(event.data)
        assert event.event == payload["type"]
        snapshot = accumulate_event(event=payload, current_snapshot=snapshot, json_bufs=bufs)  # type: ignore[arg-type]
    assert snapshot is not None
    accumulated: dict[str, Any] = snapshot.model_dump(mode="json", exclude_unset=True, warnings=False)
    if accumulated.get("stop_details") is None:  # the SDK sets it from every message_delta, null or not
        accumulated.pop("stop_details", None)
    return accumulated


@pytest.mark.parametrize("case", CASE_DIRS, ids=[p.name for p in CASE_DIRS])
def test_golden(case: Path) -> None:
    message = json.loads((case / "message.json").read_text())
    sse = replay(message)
    assert sse == (case / "expected.sse").read_bytes()
    assert _accumulate(sse) == message


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
# Integers as orjson parses them from an upstream answer (larger ones arrive as floats).
_ints = st.integers(-(2**63), 2**64 - 1)
_blocks = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, _text),
    st.builds(lambda t, s: {"type": "thinking", "thinking": t, "signature": s}, _text, _text),
    st.builds(
        lambda i, n, args: {"type": "tool_use", "id": f"toolu_{i}", "name": n, "input": args},
        st.integers(0, 10**6),
        st.sampled_from(["Read", "Bash", "Edit"]),
        st.dictionaries(st.text(max_size=8), st.one_of(_text, _ints, st.booleans(), st.none()), max_size=3),
    ),
)


@given(
    content=st.lists(_blocks, max_size=6),
    stop=st.sampled_from(["end_turn", "tool_use", "max_tokens", "stop_sequence"]),
    tokens=st.tuples(st.integers(0, 10**6), st.integers(0, 10**5)),
)
def test_replayed_streams_keep_the_grammar_and_accumulate_to_the_message(
    content: list[dict[str, Any]], stop: str, tokens: tuple[int, int]
) -> None:
    message = {
        "id": "msg_01X",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": content,
        "stop_reason": stop,
        "stop_sequence": "STOP" if stop == "stop_sequence" else None,
        "usage": {"input_tokens": tokens[0], "output_tokens": tokens[1]},
    }
    sse = replay(message)
    check_stream(SSEDecoder().feed(sse))
    assert _accumulate(sse) == message
