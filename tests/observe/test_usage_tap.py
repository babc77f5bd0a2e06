"""Usage and stop reason read back from the Anthropic-form bytes the client was sent."""

from __future__ import annotations

import orjson

from cc_proxy.engine.usage import Usage
from cc_proxy.engine.wire.sse import SSEEvent, encode
from cc_proxy.server.observe.usage_tap import message_usage, stream_usage
from tests.fakes import anthropic_stream as A

USAGE = {"input_tokens": 7, "cache_creation_input_tokens": 2, "cache_read_input_tokens": 3, "output_tokens": 5}


def test_a_json_answer() -> None:
    body = orjson.dumps(A.message(A.text('he said "stop_reason":"x" and "usage": {}'), usage=USAGE))
    assert message_usage(body) == (Usage(7, 5, 3, 2), "end_turn")
    reordered = orjson.dumps({"usage": USAGE, "type": "message", "stop_reason": "max_tokens", "content": []})
    assert message_usage(reordered) == (Usage(7, 5, 3, 2), "max_tokens")  # not last: the whole body is read
    assert message_usage(b"not json") == (None, None)


def test_a_stream_as_the_fake_upstream_sends_it() -> None:
    chunks = A.message_stream(A.message(A.text("hello"), A.tool_use("Read", {"p": 1}), usage=USAGE))
    start, delta = chunks[0], next(c for c in chunks if b"message_delta" in c)
    assert stream_usage(start, delta) == (Usage(7, 5, 3, 2), "tool_use")
    assert stream_usage(start, None) == (Usage(7, 1, 3, 2), None)  # message_start's provisional output count


def test_multi_line_data_and_crlf_go_through_the_decoder() -> None:
    data = orjson.dumps({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 9}})
    cut = data.index(b",") + 1  # the decoder joins data lines with a newline: JSON whitespace there
    multi = b"event: message_delta\r\ndata: " + data[:cut] + b"\r\ndata: " + data[cut:] + b"\r\n\r\n"
    assert stream_usage(b"", multi) == (Usage(output=9), "end_turn")
    assert stream_usage(encode(SSEEvent("{}", "ping")), None) == (None, None)
