"""Properties of the Responses stream translator over generated answers.

One generated answer (reasoning items with summaries and encrypted content, messages, function calls
with JSON arguments, completed or cut at max_output_tokens, usage or none) is built with the openai
SDK's types, streamed as the API streams it with every text cut into random deltas (or, as some servers
do, with no deltas at all, only the items' done events), serialized to SSE bytes and cut at random byte
offsets. Then:
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
from openai.types.responses import Response

from cc_proxy.engine.wire.responses import StreamTranslator, translate_response
from cc_proxy.engine.wire.sse import SSEDecoder
from cc_proxy.engine.wire.types import SSEEvent
from tests.fakes import openai_responses as R
from tests.openai.invariants import check_stream
from tests.openai.support import make_ctx, make_target

texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=30)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
items = st.one_of(
    st.tuples(st.just("reasoning"), st.lists(texts, max_size=3), st.none() | st.from_regex(r"gAAA[A-Za-z0-9_-]{4,20}")),
    st.tuples(st.just("message"), texts, st.booleans()),  # (text, as a refusal)
    st.tuples(
        st.just("call"),
        st.from_regex(r"call_[A-Za-z0-9]{1,8}", fullmatch=True),
        st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,12}", fullmatch=True),
        st.dictionaries(st.text(max_size=6), json_values, max_size=4),
    ),
)


def _build(spec: list[tuple[Any, ...]], incomplete: bool, usage: R.ResponseUsage | None) -> Response:
    output: list[R.Item] = []
    for n, entry in enumerate(spec):
        if entry[0] == "reasoning":
            output.append(R.reasoning(f"rs_{n}", entry[1], encrypted=entry[2]))
        elif entry[0] == "message":
            output.append(R.message(f"msg_{n}", refusal=entry[1]) if entry[2] else R.message(f"msg_{n}", entry[1]))
        else:
            output.append(R.function_call(f"fc_{n}", entry[1], entry[2], json.dumps(entry[3])))
    answer = R.response(output, status="incomplete" if incomplete else "completed", usage_=usage,
                        incomplete="max_output_tokens" if incomplete else None)  # fmt: skip
    return answer if usage is not None else answer.model_copy(update={"usage": None})


@st.composite
def answers(draw: st.DrawFn) -> dict[str, Any]:
    data = draw(st.data())
    usage = draw(
        st.none()
        | st.builds(
            R.usage,
            st.integers(0, 10**6),
            st.integers(0, 10**5),
            cached=st.integers(0, 1000),
            reasoning=st.integers(0, 500),
        )
    )
    answer = _build(draw(st.lists(items, max_size=5)), draw(st.booleans()), usage)

    def split(text: str) -> list[str]:
        cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(text) - 1)), max_size=4)) if len(text) > 1 else [])
        bounds = [0, *cuts, len(text)]
        return [text[a:b] for a, b in itertools.pairwise(bounds) if a < b] or [text]

    events = R.stream_events(answer, pieces=split)
    if draw(st.booleans()):  # a server that sends no deltas
        kept = ("response.created", "response.output_item.added", "response.output_item.done")
        events = [e for e in events if e.type in kept or e is events[-1]]
    raw = b"".join(R.encode_events(events))
    cuts = sorted(draw(st.sets(st.integers(1, len(raw) - 1), max_size=8)))
    return {
        "answer": answer,
        "estimate": draw(st.integers(0, 5000)),
        "raw": raw,
        "split": [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)],
    }


def _ctx(answer: dict[str, Any]) -> Any:
    return make_ctx(make_target("openai-responses"), input_tokens_estimate=answer["estimate"])


def _translate(answer: dict[str, Any], chunks: list[bytes]) -> list[SSEEvent]:
    translator = StreamTranslator(_ctx(answer))
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
    body = answer["answer"].model_dump(mode="json", exclude_unset=True)
    assert streamed == _strip_nulls(translate_response(body, _ctx(answer)))
