"""engine.emulate.report: what a translated answer gains (applied context edits) or hides (thinking text
under `thinking.display: "omitted"`, kept inside our signature so the next turn can hand it back)."""

from __future__ import annotations

import json
from typing import Any

from cc_proxy.engine.emulate.report import AnswerReport
from cc_proxy.engine.wire.openai import StreamTranslator, translate_response
from cc_proxy.engine.wire.openai_request import translate_request
from cc_proxy.engine.wire.reasoning import read_thinking_block
from cc_proxy.engine.wire.sse import SSEDecoder
from cc_proxy.engine.wire.types import SSEEvent
from tests.fakes import openai_stream as O
from tests.openai.support import make_ctx, make_target

REASONING = ["The user wants ", "the file read."]
APPLIED = {"applied_edits": [{"type": "clear_thinking_20251015", "cleared_thinking_turns": 2,
                              "cleared_input_tokens": 40}]}


def _stream(omit: bool, context_management: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    ctx = make_ctx(make_target("deepseek"), omit_thinking=omit, context_management=context_management)
    translator, report, decoder = StreamTranslator(ctx), AnswerReport(ctx), SSEDecoder()
    raw = b"".join(O.chat_stream(reasoning=REASONING, content=["Reading."], finish_reason="stop"))
    events: list[SSEEvent] = []
    for event in decoder.feed(raw):
        events.extend(translator.feed(event))
    events.extend(translator.finish())
    return [json.loads(e.data) for e in (report.events(events) if report.active else events)]


def _block(payloads: list[dict[str, Any]]) -> dict[str, Any]:
    """The thinking block as Claude Code assembles it from the stream and sends it back next turn."""
    block: dict[str, Any] = {}
    for p in payloads:
        if p["type"] == "content_block_start" and p["content_block"]["type"] == "thinking":
            block = dict(p["content_block"])
        elif p["type"] == "content_block_delta" and p["index"] == 0:
            delta = p["delta"]
            if delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                block["signature"] = delta["signature"]
    return block


def test_omitted_thinking_streams_no_text_but_a_signature_that_carries_it() -> None:
    shown, omitted = _stream(omit=False), _stream(omit=True)
    kept = [p["type"] for p in shown if p.get("delta", {}).get("type") != "thinking_delta"]
    assert [p["type"] for p in omitted] == kept
    assert not any(p.get("delta", {}).get("type") == "thinking_delta" for p in omitted)
    block = _block(omitted)
    assert block["thinking"] == "" and block["signature"] != _block(shown)["signature"]
    restored = read_thinking_block(block)
    assert restored is not None and restored.text == "".join(REASONING)
    # The next turn hands the reasoning back where the dialect wants it (DeepSeek's tool turns).
    call = {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {}}
    request = {"model": "m", "max_tokens": 10, "messages": [
        {"role": "user", "content": "read it"},
        {"role": "assistant", "content": [block, call]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "x"}]},
    ]}
    body = translate_request(make_target("deepseek"), request)
    assert body["messages"][1]["reasoning_content"] == "".join(REASONING)


def test_omitted_thinking_in_a_json_answer() -> None:
    ctx = make_ctx(make_target("deepseek"), omit_thinking=True)
    answer = O.chat_completion(reasoning="".join(REASONING), content="Reading.", finish_reason="stop")
    message = AnswerReport(ctx).message(translate_response(answer, ctx))
    thinking = message["content"][0]
    assert thinking["type"] == "thinking" and thinking["thinking"] == ""
    restored = read_thinking_block(thinking)
    assert restored is not None and restored.text == "".join(REASONING)
    assert message["content"][1] == {"type": "text", "text": "Reading."}


def test_applied_edits_go_on_message_delta_and_the_message() -> None:
    payloads = _stream(omit=False, context_management=APPLIED)
    deltas = [p for p in payloads if p["type"] == "message_delta"]
    assert len(deltas) == 1 and deltas[0]["context_management"] == APPLIED
    assert all("context_management" not in p for p in payloads if p["type"] != "message_delta")
    ctx = make_ctx(make_target("openai"), context_management=APPLIED)
    message = AnswerReport(ctx).message(translate_response(O.chat_completion(content="hi"), ctx))
    assert message["context_management"] == APPLIED


def test_nothing_to_report_is_inactive() -> None:
    report = AnswerReport(make_ctx(make_target("openai")))
    assert not report.active
