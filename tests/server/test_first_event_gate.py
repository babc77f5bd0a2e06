"""server/exchange.py decodes a held chunk only up to its first event (the first-chunk gate needs no
more). Hypothesis: whatever the events, line ends and BOM, the gate sees the same first event as a
decoder given the whole chunk."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cc_proxy.engine.wire.sse import SSEDecoder
from cc_proxy.server.exchange import _first_events

NAMES = st.none() | st.sampled_from(["message_start", "content_block_delta", "error", "ping"])
DATA = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
LINE_ENDS = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def chunks(draw: st.DrawFn) -> bytes:
    end = draw(LINE_ENDS)
    parts = ["\ufeff"] if draw(st.booleans()) else []
    for name, data in draw(st.lists(st.tuples(NAMES, DATA), max_size=5)):
        if draw(st.booleans()):
            parts.append(":comment" + end)
        if name is not None:
            parts.append(f"event: {name}{end}")
        for line in data.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            parts.append(f"data: {line}{end}")
        parts.append(end)
    if draw(st.booleans()):
        parts.append("data: unfinished")
    return "".join(parts).encode()


@settings(max_examples=400, deadline=None)
@given(chunk=chunks())
def test_the_gate_sees_the_first_event_a_whole_decode_sees(chunk: bytes) -> None:
    whole = SSEDecoder().feed(chunk)
    seen = _first_events(SSEDecoder(), chunk)
    assert seen[:1] == whole[:1]


def test_a_chunk_with_the_whole_answer_is_decoded_only_to_its_first_event() -> None:
    chunk = b"event: message_start\ndata: {}\n\n" + b"event: ping\ndata: {}\n\n" * 30
    assert [e.event for e in _first_events(SSEDecoder(), chunk)] == ["message_start"]
