"""U15 on Anthropic pass-through streams, at the adapter: wherever the upstream splits its chunks, a
`data:` line that is not JSON ends the stream after exactly the whole events before it (their bytes
unchanged) and nothing of the bad event or what follows it, also when it completes in the same read
as the first event (the first-chunk gate commits the whole events: server/exchange.py)."""

from __future__ import annotations

import pytest

from cc_proxy.engine.profiles import BUILTIN_PROFILES
from cc_proxy.engine.snapshot import ApiKey, ResolvedModel, ResolvedProvider
from cc_proxy.engine.wire.types import TranslationContext
from cc_proxy.server.wire_registry import StreamBroken, wire_for
from tests.fakes import anthropic_stream as A

_PROVIDER = ResolvedProvider("up", "anthropic", "http://127.0.0.1:1", ApiKey("literal", "k"), {},
                             BUILTIN_PROFILES["anthropic"])
_CTX = TranslationContext("m", ResolvedModel("m", _PROVIDER, None), A.DEFAULT_MODEL, lambda prefix: prefix + "1")

_EVENTS = A.message_stream(A.message(A.text("Hello there")), ping=True)
_BAD = b"event: content_block_delta\r\ndata: {\"type\": \"content_block_delta\", oops\r\n\r\n"
_GOOD_PREFIX = b"".join(_EVENTS[:4])  # message_start, ping, content_block_start, first delta
_STREAM = _GOOD_PREFIX + _BAD + b"".join(_EVENTS[4:])


def _run(chunks: list[bytes]) -> tuple[bytes, StreamBroken | None]:
    adapter = wire_for("anthropic").stream(_CTX)
    sent = bytearray()
    for chunk in chunks:
        try:
            sent += adapter.feed(chunk)
        except StreamBroken as exc:
            return bytes(sent + exc.good), exc
    sent += adapter.finish()
    return bytes(sent), None


@pytest.mark.parametrize("step", [1, 7, 64, len(_STREAM)])
def test_invalid_event_ends_the_stream_after_the_whole_events_before_it(step: int) -> None:
    chunks = [_STREAM[i : i + step] for i in range(0, len(_STREAM), step)]
    sent, broken = _run(chunks)
    assert broken is not None and "not JSON" in str(broken)
    assert sent == _GOOD_PREFIX


def test_every_two_way_split_gives_the_same_bytes() -> None:
    for cut in range(1, len(_STREAM)):
        sent, broken = _run([_STREAM[:cut], _STREAM[cut:]])
        assert broken is not None, cut
        assert sent == _GOOD_PREFIX, cut


def test_an_unreadable_first_event_gives_nothing() -> None:
    """The first event itself not JSON: no bytes, so the first-chunk gate answers 502 (nothing sent)."""
    sent, broken = _run([b"event: message_start\ndata: {oops\n\n" + b"".join(_EVENTS[1:])])
    assert broken is not None and sent == b""


def test_junk_after_message_stop_is_not_an_error() -> None:
    """Some Anthropic-compatible upstreams end with `data: [DONE]`: the stream is already complete."""
    sent, broken = _run([b"".join(_EVENTS) + b"data: [DONE]\n\n"])
    assert broken is None
    assert sent == b"".join(_EVENTS) + b"data: [DONE]\n\n"
