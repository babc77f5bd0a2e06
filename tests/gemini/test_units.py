"""Small pieces of the Gemini wire: RetryInfo waits, tool-id payloads, the key header, and bad input."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest

from cc_proxy.engine.errors import ProxyError
from cc_proxy.engine.wire.gemini import StreamTranslator, retry_after, translate_response
from cc_proxy.engine.wire.gemini_signatures import TOOL_ID_PREFIX, decode_tool_id, encode_tool_id
from cc_proxy.engine.wire.types import SSEEvent
from cc_proxy.server.credentials import credential_headers
from tests.openai.support import make_ctx, make_target

RETRY = "type.googleapis.com/google.rpc.RetryInfo"


def _error(*details: dict[str, Any], wrap_list: bool = False) -> bytes:
    body: Any = {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED", "details": list(details)}}
    return orjson.dumps([body] if wrap_list else body)


@pytest.mark.parametrize(
    ("body", "seconds"),
    [
        (_error({"@type": RETRY, "retryDelay": "53s"}), 53.0),
        (_error({"@type": RETRY, "retryDelay": "45.837906927s"}), 45.837906927),
        (_error({"@type": "type.googleapis.com/google.rpc.QuotaFailure"}, {"@type": RETRY, "retryDelay": "2s"}), 2.0),
        (_error({"@type": RETRY, "retryDelay": "2s"}, wrap_list=True), 2.0),  # the JSON-array stream form
        (_error({"@type": RETRY, "retryDelay": "soon"}), None),
        (_error({"@type": RETRY}), None),
        (_error(), None),
        (b"<html>RetryInfo</html>", None),
        (b"", None),
    ],
)
def test_retry_after_reads_retry_info(body: bytes, seconds: float | None) -> None:
    assert retry_after(body) == seconds


def test_tool_ids_round_trip_and_stay_valid_anthropic_ids() -> None:
    counter = itertools.count(1)
    new_id = lambda prefix: f"{prefix}{next(counter):04d}"  # noqa: E731
    signed = encode_tool_id("fc_1", "CiQB0e2K/+==", new_id)
    assert signed.startswith(TOOL_ID_PREFIX) and signed.replace("_", "").replace("-", "").isalnum()
    assert decode_tool_id(signed) == ("fc_1", "CiQB0e2K/+==")
    unnamed = encode_tool_id(None, "c2ln", new_id)
    assert decode_tool_id(unnamed) == (None, "c2ln")
    assert encode_tool_id(None, None, new_id) == "toolu_0002"
    assert decode_tool_id("toolu_0002") == (None, None)
    for garbage in (TOOL_ID_PREFIX + "!!!", TOOL_ID_PREFIX + "bm90IGpzb24", TOOL_ID_PREFIX + "WzFd", None, 7):
        assert decode_tool_id(garbage) == (None, None)  # never an exception: such a call is sent without


def test_the_key_goes_only_in_x_goog_api_key() -> None:
    from dataclasses import replace

    from cc_proxy.engine.snapshot import ApiKey

    provider = replace(make_target("gemini").provider, api_key=ApiKey("literal", "AIza-key"))
    assert credential_headers(provider, {"x-api-key": "client"}, None) == {"x-goog-api-key": "AIza-key"}
    vertex = replace(make_target("gemini-vertex").provider, api_key=ApiKey("literal", "ya29.token"))
    assert credential_headers(vertex, {}, None) == {"authorization": "Bearer ya29.token"}


@pytest.mark.parametrize("body", [[], "text", 3, None])
def test_an_answer_that_is_not_an_object_is_a_502(body: Any) -> None:
    with pytest.raises(ProxyError) as caught:
        translate_response(body, make_ctx(make_target("gemini")))
    assert caught.value.status == 502


@pytest.mark.parametrize(
    "data",
    ["[]", "3", '"x"', '{"candidates": "no"}', '{"candidates": [{"content": {"parts": [1, null, {"text": 5}]}}]}'],
)
def test_odd_events_never_raise(data: str) -> None:
    translator = StreamTranslator(make_ctx(make_target("gemini")))
    out = translator.feed(SSEEvent(data)) + translator.finish()
    if translator.done:  # an event that is no GenerateContentResponse ends the stream with an error
        assert out[-1].event == "error" and not translator.completed
    else:  # no finishReason: cut short, nothing invented (the server cuts the client, U12)
        assert not translator.completed and all(e.event != "error" for e in out)
