"""Unit checks of the Responses wire beyond the golden cases: errors in a 200 answer, events that carry
nothing, the strict-mode schema test, and the reasoning signature payload."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cc_proxy.engine.errors import ProxyError
from cc_proxy.engine.wire.reasoning import make_signature, read_thinking_block
from cc_proxy.engine.wire.responses import StreamTranslator, translate_response
from cc_proxy.engine.wire.responses_tools import strict_qualifies
from cc_proxy.engine.wire.types import SSEEvent
from tests.fakes import openai_responses as R
from tests.openai.support import make_ctx, make_target


def _ctx() -> Any:
    return make_ctx(make_target("openai-responses"))


@pytest.mark.parametrize(
    ("body", "error_type", "text"),
    [
        (
            R.failed_event("flagged", "invalid_prompt").response.model_dump(mode="json"),
            "invalid_request_error",
            "flagged",
        ),
        ({"error": {"message": "bad model", "code": "model_not_found"}}, "not_found_error", "bad model"),
        ({"id": "resp_1", "object": "response", "status": "completed"}, "api_error", "no output"),
        ([1, 2], "api_error", "not a JSON object"),
    ],
)
def test_answers_that_are_errors(body: Any, error_type: str, text: str) -> None:
    with pytest.raises(ProxyError) as info:
        translate_response(body, _ctx())
    assert info.value.error_type == error_type and text in info.value.message


def _feed(*data: str) -> list[dict[str, Any]]:
    translator = StreamTranslator(_ctx())
    out: list[SSEEvent] = []
    for item in data:
        out.extend(translator.feed(SSEEvent(item)))
    return [json.loads(e.data) for e in out]


def test_events_that_carry_nothing_change_nothing() -> None:
    created = R.encode_events(R.stream_events(R.response([]))[:1])[0].decode().split("data: ", 1)[1].strip()
    quiet = ["", "  ", "[DONE]", '{"type":"response.future_event","sequence_number":9}', '{"type":"keepalive"}']
    assert _feed(created, *quiet) == _feed(created)


def test_an_error_before_anything_else_is_the_only_event() -> None:
    events = _feed('{"type":"error","code":"rate_limit_exceeded","message":"slow down","sequence_number":0}')
    assert events == [{"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}]


@pytest.mark.parametrize(
    ("schema", "strict"),
    [
        ({"type": "object", "properties": {}, "required": [], "additionalProperties": False}, True),
        ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}, False),  # open object
        ({"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}, False),
        (
            {
                "type": "object",
                "properties": {"a": {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/n"}]}},
                "required": ["a"],
                "additionalProperties": False,
                "$defs": {"n": {"type": "object", "properties": {}, "required": [], "additionalProperties": False}},
            },
            True,
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"oneOf": [{"type": "string"}]}},
                "required": ["a"],
                "additionalProperties": False,
            },
            False,
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "string", "default": "x"}},
                "required": ["a"],
                "additionalProperties": False,
            },
            False,
        ),
        ({"type": "array", "items": {"type": "string"}}, False),  # the root must be an object
    ],
)
def test_strict_qualifies(schema: dict[str, Any], strict: bool) -> None:
    assert strict_qualifies(schema) is strict


def test_signature_carries_the_reasoning_item_and_nothing_else_restores_one() -> None:
    item = {"encrypted_content": "gAAAA-x", "id": "rs_9"}
    restored = read_thinking_block({"type": "thinking", "thinking": "t", "signature": make_signature(None, item)})
    assert restored is not None and restored.item == item and restored.details is None
    chat = read_thinking_block({"type": "thinking", "thinking": "t", "signature": make_signature([{"type": "x"}])})
    assert chat is not None and chat.item is None


def test_reasoning_without_encrypted_content_is_not_signed_with_its_id() -> None:
    # With store false an id alone cannot be sent back (OpenAI 404s "Items are not persisted").
    body = R.response([R.reasoning("rs_1", ["Plan."]), R.message("msg_1", "Hi")]).model_dump(mode="json")
    thinking = translate_response(body, _ctx())["content"][0]
    assert thinking["signature"] == make_signature(None)
    restored = read_thinking_block(thinking)
    assert restored is not None and restored.item is None
