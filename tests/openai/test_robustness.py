"""Hostile upstreams: whatever an OpenAI-dialect server sends, nothing raises, the client stream keeps
the Anthropic grammar, and a non-stream answer is a message or a ProxyError."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import event as note_event
from hypothesis import strategies as st

from cc_proxy.engine.errors import ProxyError
from cc_proxy.engine.wire.openai import StreamTranslator, translate_response
from cc_proxy.engine.wire.types import SSEEvent
from tests.openai.invariants import check_stream
from tests.openai.support import make_ctx, make_target

scalars = st.none() | st.booleans() | st.integers(-3, 5) | st.text(max_size=5) | st.sampled_from(["", "{", "}", '"'])
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner))


def mostly(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`good` three times in four, any JSON value otherwise."""
    return st.integers(0, 3).flatmap(lambda n: values if n == 0 else good)


tool_deltas = st.fixed_dictionaries(
    {},
    optional={
        "index": mostly(st.integers(0, 3)),
        "id": mostly(st.sampled_from(["call_a", "call_b", "bad id:1", ""])),
        "function": mostly(
            st.fixed_dictionaries(
                {},
                optional={
                    "name": mostly(st.sampled_from(["Read", "Bash", ""])),
                    "arguments": mostly(st.sampled_from(['{"a":', "1}", "", " ", "{}", '"x"'])),
                },
            )
        ),
    },
)
details = st.lists(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["reasoning.text", "reasoning.encrypted"])},
        optional={"text": mostly(st.text(max_size=4)), "index": mostly(st.integers(0, 2)), "data": values},
    ),
    max_size=2,
)
deltas = st.fixed_dictionaries(
    {},
    optional={
        "content": mostly(st.text(max_size=8) | st.sampled_from(["<think>", "</think>", "<thi"])),
        "reasoning_content": mostly(st.text(max_size=8)),
        "reasoning": mostly(st.text(max_size=8)),
        "reasoning_details": mostly(details),
        "refusal": mostly(st.text(max_size=5)),
        "tool_calls": mostly(st.lists(tool_deltas, max_size=3)),
    },
)
choices = st.fixed_dictionaries(
    {"delta": mostly(deltas)},
    optional={
        "index": mostly(st.just(0)),
        "finish_reason": mostly(st.sampled_from([None, None, "stop", "length", "tool_calls", "content_filter"])),
        "stop_reason": values,
    },
)
chunks = st.fixed_dictionaries(
    {"choices": mostly(st.lists(choices, min_size=1, max_size=2))},
    optional={
        "usage": mostly(st.fixed_dictionaries({}, optional={"prompt_tokens": values, "completion_tokens": values}))
    },
)
garbage_events = st.one_of(
    st.sampled_from(["[DONE]", "", "not json", "[1]", " [DONE] ", '{"error": {"message": "boom"}}']).map(SSEEvent),
    st.builds(SSEEvent, st.text(max_size=6), st.sampled_from([None, "ping", "error", "message"])),
    values.map(lambda v: SSEEvent(json.dumps({"error": v}))),
)


@st.composite
def events(draw: st.DrawFn) -> list[SSEEvent]:
    """Mostly well-formed chunks; sometimes one garbage event somewhere; usually a closing [DONE]."""
    out = [SSEEvent(json.dumps(c)) for c in draw(st.lists(chunks, min_size=1, max_size=12))]
    if draw(st.integers(0, 3)) == 0:
        out.insert(draw(st.integers(0, len(out))), draw(garbage_events))
    if draw(st.integers(0, 4)) != 0:
        out.append(SSEEvent("[DONE]"))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events(), st.sampled_from(["openai", "deepseek", "openrouter", "llamacpp"]))
def test_stream_never_raises_and_keeps_the_grammar(upstream: list[SSEEvent], profile: str) -> None:
    translator = StreamTranslator(make_ctx(make_target(profile), stop_sequences=("}",)))
    out: list[SSEEvent] = []
    for event in upstream:
        out.extend(translator.feed(event))
    out.extend(translator.finish())
    if not translator.done:  # no [DONE]: cut short, nothing invented (the server cuts the client, U12)
        assert not translator.completed and translator.finish() == []
        if out:
            check_stream(out, cut=True)
        return
    assert translator.finish() == [] and translator.feed(SSEEvent("[DONE]")) == []  # nothing after the end
    payloads = check_stream(out)
    note_event(f"completed={translator.completed}, blocks={sum(p['type'] == 'content_block_start' for p in payloads)}")
    assert translator.completed == (json.loads(out[-1].data)["type"] == "message_stop")


bodies = st.fixed_dictionaries(
    {},
    optional={
        "choices": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "message": st.fixed_dictionaries(
                        {},
                        optional={
                            "content": st.text(max_size=8) | values,
                            "reasoning_content": values,
                            "reasoning_details": values,
                            "refusal": values,
                            "tool_calls": st.lists(tool_deltas | values, max_size=3) | values,
                        },
                    )
                    | values,
                    "finish_reason": values,
                    "stop_reason": values,
                },
            )
            | values,
            max_size=2,
        )
        | values,
        "usage": values,
        "error": values,
    },
)


@settings(max_examples=200, deadline=None)
@given(bodies, st.sampled_from(["openai", "openrouter", "llamacpp"]))
def test_non_stream_answer_is_a_message_or_a_proxy_error(body: dict[str, Any], profile: str) -> None:
    try:
        message = translate_response(body, make_ctx(make_target(profile)))
    except ProxyError as exc:
        assert exc.status == 502
        return
    assert message["type"] == "message" and message["role"] == "assistant"
    assert message["stop_reason"] in ("end_turn", "max_tokens", "tool_use", "refusal", "stop_sequence")
    for block in message["content"]:
        assert block["type"] in ("thinking", "text", "tool_use")
        if block["type"] == "text":
            assert isinstance(block["text"], str) and block["text"]
        if block["type"] == "tool_use":
            assert isinstance(block["input"], dict) and isinstance(block["id"], str) and block["id"]
    assert all(isinstance(v, int) and v >= 0 for v in message["usage"].values())
    json.dumps(message)


def test_error_null_on_every_chunk_is_not_an_error() -> None:
    translator = StreamTranslator(make_ctx(make_target("openai")))
    chunk = {"choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "stop"}], "error": None}
    out = translator.feed(SSEEvent(json.dumps(chunk))) + translator.feed(SSEEvent("[DONE]"))
    assert translator.completed
    assert [json.loads(e.data)["type"] for e in out][-2:] == ["message_delta", "message_stop"]
