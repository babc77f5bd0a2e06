"""SSE decoder and encoder: golden cases (tests/cases/sse), re-chunking properties, the size cap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cc_proxy.engine.wire.sse import SSEDecoder, SSEEventTooLarge, encode, encode_all
from cc_proxy.engine.wire.types import SSEEvent

CASES = Path(__file__).parent.parent / "cases" / "sse"
CASE_DIRS = sorted(p for p in CASES.iterdir() if p.is_dir())


def _load(case: Path) -> tuple[bytes, list[SSEEvent]]:
    raw = (case / "input.sse").read_bytes()
    expected = [SSEEvent(e["data"], e["event"]) for e in json.loads((case / "events.json").read_text())]
    return raw, expected


def _decode_chunks(chunks: list[bytes], limit: int | None = None) -> list[SSEEvent]:
    dec = SSEDecoder() if limit is None else SSEDecoder(limit)
    out: list[SSEEvent] = []
    for c in chunks:
        out += dec.feed(c)
    return out + dec.finish()


@pytest.mark.parametrize("case", CASE_DIRS, ids=[p.name for p in CASE_DIRS])
def test_golden_whole(case: Path) -> None:
    raw, expected = _load(case)
    assert _decode_chunks([raw]) == expected


@pytest.mark.parametrize("case", CASE_DIRS, ids=[p.name for p in CASE_DIRS])
def test_golden_byte_by_byte(case: Path) -> None:
    raw, expected = _load(case)
    assert _decode_chunks([raw[i : i + 1] for i in range(len(raw))]) == expected


@pytest.mark.parametrize("case", CASE_DIRS, ids=[p.name for p in CASE_DIRS])
def test_golden_every_two_way_split(case: Path) -> None:
    raw, expected = _load(case)
    for i in range(len(raw) + 1):
        assert _decode_chunks([raw[:i], raw[i:]]) == expected, f"split at {i}"


@pytest.mark.parametrize("case", CASE_DIRS, ids=[p.name for p in CASE_DIRS])
def test_golden_ends_point_past_blank_lines(case: Path) -> None:
    """`feed_with_ends` offsets: re-decoding the bytes up to each end yields exactly the events so far."""
    raw, expected = _load(case)
    events, ends = SSEDecoder().feed_with_ends(raw)
    assert events == expected[: len(events)]
    for n, end in enumerate(ends, start=1):
        assert SSEDecoder().feed(raw[:end]) == expected[:n]


def test_ends_are_relative_to_each_chunk() -> None:
    raw = b"data: a\r\n\r\nevent: x\ndata: b\n\n"
    dec = SSEDecoder()
    e1, n1 = dec.feed_with_ends(raw[:10])  # cut between the CR and LF of the blank line
    e2, n2 = dec.feed_with_ends(raw[10:])
    assert (e1, n1) == ([SSEEvent("a")], [10])
    assert e2 == [SSEEvent("b", "x")]
    assert n2 == [len(raw) - 10]


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    dec = SSEDecoder()
    # "data: 1\r" + "\n" + "\r" + "\n": two line ends (one data line, one blank line), not four.
    assert dec.feed(b"data: 1\r") == []
    assert dec.feed(b"\n") == []
    assert dec.feed(b"\r") == [SSEEvent("1")]
    assert dec.feed(b"\ndata: 2\n\n") == [SSEEvent("2")]


def test_bom_split_across_chunks() -> None:
    dec = SSEDecoder()
    assert dec.feed(b"\xef") == []
    assert dec.feed(b"\xbb") == []
    assert dec.feed(b"\xbfdata: x\n\n") == [SSEEvent("x")]


def test_finish_discards_incomplete_event_unless_asked() -> None:
    dec = SSEDecoder()
    assert dec.feed(b"data: [DONE]") == []
    assert dec.pending
    assert dec.finish() == []
    assert not dec.pending
    lenient = SSEDecoder()
    lenient.feed(b"event: e\ndata: [DONE]")
    assert lenient.finish(dispatch_incomplete=True) == [SSEEvent("[DONE]", "e")]


def test_pending_false_between_events() -> None:
    dec = SSEDecoder()
    dec.feed(b"data: 1\n\n: comment only\n")
    assert not dec.pending


def test_cap_on_unterminated_line() -> None:
    dec = SSEDecoder(max_event_bytes=1024)
    dec.feed(b"data: " + b"x" * 1000)
    with pytest.raises(SSEEventTooLarge):
        dec.feed(b"x" * 100)


def test_cap_on_many_data_lines() -> None:
    dec = SSEDecoder(max_event_bytes=1024)
    with pytest.raises(SSEEventTooLarge):
        for _ in range(200):
            dec.feed(b"data: 0123456789\n")


def test_cap_counts_one_event_only() -> None:
    dec = SSEDecoder(max_event_bytes=64)
    events: list[SSEEvent] = []
    for _ in range(100):
        events += dec.feed(b"data: 0123456789012345678901234567890123456789\n\n")
    assert len(events) == 100


def test_default_cap_is_8_mib() -> None:
    dec = SSEDecoder()
    big = b"x" * (8 * 1024 * 1024 - 16)
    assert dec.feed(b"data: " + big + b"\n\n") == [SSEEvent(big.decode())]
    with pytest.raises(SSEEventTooLarge):
        SSEDecoder().feed(b"data: " + big + b"x" * 64)


def test_encode_named_and_default() -> None:
    assert encode(SSEEvent('{"type":"ping"}', "ping")) == b'event: ping\ndata: {"type":"ping"}\n\n'
    assert encode(SSEEvent("[DONE]")) == b"data: [DONE]\n\n"


def test_encode_multiline_data() -> None:
    assert encode(SSEEvent("a\nb\r\nc\rd", "x")) == b"event: x\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
    assert SSEDecoder().feed(encode(SSEEvent("a\n\nb\n"))) == [SSEEvent("a\n\nb\n")]


def test_encode_rejects_line_break_in_name() -> None:
    with pytest.raises(ValueError):
        encode(SSEEvent("x", "a\nb"))


# -- properties ------------------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_characters="\r"), max_size=40)
_name = st.one_of(st.none(), st.text(st.characters(codec="utf-8", exclude_characters="\r\n:"), min_size=1, max_size=12))
_events = st.lists(st.builds(SSEEvent, data=_text, event=_name), max_size=8)


@st.composite
def _stream(draw: st.DrawFn) -> tuple[bytes, list[SSEEvent]]:
    """Events encoded with random line ends, comments, ignored fields and an optional BOM."""
    events = draw(_events)
    out = bytearray(b"\xef\xbb\xbf" if draw(st.booleans()) else b"")
    for e in events:
        lines: list[bytes] = []
        if draw(st.booleans()):
            lines.append(b": keep-alive")
        if draw(st.booleans()):
            lines.append(b"id: 42")
        if e.event is not None:
            lines.append(b"event: " + e.event.encode())
        for part in e.data.split("\n"):
            space = b" " if part.startswith(" ") or draw(st.booleans()) else b""
            lines.append(b"data:" + space + part.encode())
        lines.append(b"")
        for line in lines:
            end = draw(st.sampled_from([b"\n", b"\r", b"\r\n"]))
            if not line and out.endswith(b"\r") and end != b"\r":
                end = b"\r"  # CR then an LF-led end would read as one CRLF: the blank line would vanish
            out += line + end
    return bytes(out), events


@settings(max_examples=300, deadline=None)
@given(_stream(), st.lists(st.integers(min_value=0, max_value=10_000), max_size=12))
def test_any_rechunking_yields_the_same_events(stream: tuple[bytes, list[SSEEvent]], cuts: list[int]) -> None:
    raw, expected = stream
    points = sorted({c % (len(raw) + 1) for c in cuts})
    chunks = [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True)]
    assert _decode_chunks([raw]) == expected
    assert _decode_chunks(chunks) == expected


@settings(max_examples=200, deadline=None)
@given(_events)
def test_encode_decode_round_trip(events: list[SSEEvent]) -> None:
    assert _decode_chunks([encode_all(events)]) == events


def test_huge_line_in_many_chunks_is_refused_at_the_cap() -> None:
    """A 50 MB line without a newline (reliability U17): refused once past the cap, nothing re-copied."""
    dec = SSEDecoder()
    piece = b"x" * 65536
    fed = 0
    with pytest.raises(SSEEventTooLarge):
        dec.feed(b"data: ")
        for _ in range(50 * 16):
            dec.feed(piece)
            fed += 1
    assert fed == 127  # "data: " + 128 x 64 KiB is the first to exceed 8 MiB


@settings(max_examples=200, deadline=None)
@given(_stream(), st.lists(st.integers(min_value=0, max_value=10_000), max_size=12))
def test_ends_under_any_rechunking(stream: tuple[bytes, list[SSEEvent]], cuts: list[int]) -> None:
    """Each reported end, made absolute, is a point where the bytes so far hold exactly the events so far."""
    raw, expected = stream
    points = sorted({c % (len(raw) + 1) for c in cuts})
    dec = SSEDecoder()
    seen: list[SSEEvent] = []
    for a, b in zip([0, *points], [*points, len(raw)], strict=True):
        events, ends = dec.feed_with_ends(raw[a:b])
        assert len(events) == len(ends)
        for event, end in zip(events, ends, strict=True):
            seen.append(event)
            assert 0 < end <= b - a
            assert SSEDecoder().feed(raw[: a + end]) == seen
    assert seen == expected
