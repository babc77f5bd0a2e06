"""Properties of the stream translator over generated answers.

One generated answer (reasoning, text, tool calls with JSON arguments, finish reason, usage) is rendered
both as a non-streaming body and as an OpenAI stream, fragmented at random (text and argument pieces,
parallel calls interleaved by index, usage before or after the finish chunk), serialized to SSE bytes and
cut at random byte offsets. Then:
- the byte cut never changes the client events;
- the client stream obeys the Anthropic grammar (every block started and stopped once, indexes 0, 1...);
- the real anthropic SDK accumulates it to exactly the non-streaming translation of the same answer.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from anthropic.lib.streaming._messages import accumulate_event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cc_proxy.engine.wire.openai import StreamTranslator, translate_response
from cc_proxy.engine.wire.sse import SSEDecoder
from cc_proxy.engine.wire.types import SSEEvent
from tests.openai.invariants import check_stream
from tests.openai.support import make_ctx, make_target

# profile -> the delta/message field its upstream sends reasoning in
PROFILES = {
    "openai": "reasoning_content",
    "deepseek": "reasoning_content",
    "openrouter": "reasoning",
    "vllm": "reasoning",
    "llamacpp": "",  # reasoning inline as <think>...</think> at the start of the content
}

texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=40).filter(
    lambda t: "</think>" not in t
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
calls = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.none() | st.from_regex(r"call_[A-Za-z0-9]{1,8}", fullmatch=True),
            "name": st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,12}", fullmatch=True),
            "args": st.dictionaries(st.text(max_size=6), json_values, max_size=4),
        }
    ),
    max_size=4,
)
usages = st.none() | st.fixed_dictionaries(
    {
        "prompt_tokens": st.integers(0, 10**6),
        "completion_tokens": st.integers(0, 10**5),
        "prompt_tokens_details": st.fixed_dictionaries({"cached_tokens": st.integers(0, 1000)}),
    }
)


def _pieces(data: st.DataObject, text: str) -> list[str]:
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(text) - 1)), max_size=4)) if len(text) > 1 else [])
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds) if a < b] or [text]


def _chunk(
    delta: dict[str, Any] | None = None, finish: str | None = None, usage: Any = None, empty: bool = False
) -> str:
    body: dict[str, Any] = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    body["choices"] = [] if empty else [{"index": 0, "delta": delta or {}, "finish_reason": finish}]
    if usage is not None:
        body["usage"] = usage
    return "data: " + json.dumps(body) + "\n\n"


@st.composite
def answers(draw: st.DrawFn) -> dict[str, Any]:
    data = draw(st.data())
    profile = draw(st.sampled_from(sorted(PROFILES)))
    answer = {
        "profile": profile,
        "reasoning": draw(st.none() | texts),
        "text": draw(st.none() | texts),
        "calls": draw(calls),
        "usage": draw(usages),
        "estimate": draw(st.integers(0, 5000)),
        "stops": tuple(draw(st.lists(st.sampled_from(["##", "END", "\n\n", "x"]), max_size=2, unique=True))),
    }
    if answer["stops"] and draw(st.booleans()):  # a server that keeps the sequence in the text
        answer["text"] = (answer["text"] or "") + answer["stops"][-1]
    field = PROFILES[profile]
    if not field:
        inline = f"<think>{answer['reasoning']}</think>\n\n" if answer["reasoning"] else ""
        answer["reasoning"] = None
        answer["text"] = (inline + (answer["text"] or "")) or None
    events: list[str] = [_chunk({"role": "assistant", "content": ""})]
    if answer["reasoning"]:
        events += [_chunk({field: p}) for p in _pieces(data, answer["reasoning"])]
    if answer["text"]:
        events += [_chunk({"content": p}) for p in _pieces(data, answer["text"])]
    # Each call: a header fragment (index, id, name, maybe the first piece), then argument pieces.
    per_call: list[list[dict[str, Any]]] = []
    for index, call in enumerate(answer["calls"]):
        pieces = _pieces(data, json.dumps(call["args"]))
        header: dict[str, Any] = {"index": index, "type": "function", "function": {"name": call["name"]}}
        if call["id"]:
            header["id"] = call["id"]
        if data.draw(st.booleans()):
            header["function"]["arguments"] = pieces.pop(0)
        frags = [header] + [{"index": index, "function": {"arguments": p}} for p in pieces]
        per_call.append(frags)
    # Interleave calls at random, keeping each call's order and starting calls in index order.
    started = 0
    while any(per_call):
        ready = [i for i, frags in enumerate(per_call) if frags and (i < started or i == started)]
        i = data.draw(st.sampled_from(ready))
        if i == started:
            started += 1
        events.append(_chunk({"tool_calls": [per_call[i].pop(0)]}))
    finish = "tool_calls" if answer["calls"] else "stop"
    if answer["usage"] is not None and data.draw(st.booleans()):
        events.append(_chunk(finish=finish, usage=answer["usage"]))
    else:
        events.append(_chunk(finish=finish))
        if answer["usage"] is not None:
            events.append(_chunk(empty=True, usage=answer["usage"]))
    events.append("data: [DONE]\n\n")
    raw = "".join(events).encode()
    cuts = sorted(data.draw(st.sets(st.integers(1, len(raw) - 1), max_size=8)))
    answer["raw"] = raw
    answer["split"] = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    return answer


def _non_stream_body(answer: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer["text"]}
    if answer["reasoning"]:
        message[PROFILES[answer["profile"]]] = answer["reasoning"]
    if answer["calls"]:
        message["tool_calls"] = [
            {
                **({"id": c["id"]} if c["id"] else {}),
                "type": "function",
                "function": {"name": c["name"], "arguments": json.dumps(c["args"])},
            }
            for c in answer["calls"]
        ]
    finish = "tool_calls" if answer["calls"] else "stop"
    body: dict[str, Any] = {"id": "c", "choices": [{"index": 0, "message": message, "finish_reason": finish}]}
    if answer["usage"] is not None:
        body["usage"] = answer["usage"]
    return body


def _translate(answer: dict[str, Any], chunks: list[bytes]) -> list[SSEEvent]:
    target = make_target(answer["profile"])
    translator = StreamTranslator(
        make_ctx(target, input_tokens_estimate=answer["estimate"], stop_sequences=answer["stops"])
    )
    decoder = SSEDecoder()
    out: list[SSEEvent] = []
    for chunk in chunks:
        for event in decoder.feed(chunk):
            out.extend(translator.feed(event))
    out.extend(translator.finish())
    assert translator.completed
    return out


def _strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers())
def test_stream_properties(answer: dict[str, Any]) -> None:
    whole = _translate(answer, [answer["raw"]])
    assert _translate(answer, answer["split"]) == whole  # byte boundaries change nothing
    payloads = check_stream(whole)

    snapshot = None
    bufs: dict[int, bytes] = {}
    for payload in payloads:
        snapshot = accumulate_event(event=payload, current_snapshot=snapshot, json_bufs=bufs)  # type: ignore[arg-type]
    assert snapshot is not None
    streamed = _strip_nulls(snapshot.model_dump(exclude_none=True, warnings=False))

    target = make_target(answer["profile"])
    ctx = make_ctx(target, input_tokens_estimate=answer["estimate"], stop_sequences=answer["stops"])
    expected = _strip_nulls(translate_response(_non_stream_body(answer), ctx))
    assert streamed == expected
