"""Properties of the Gemini stream translator over generated answers.

One generated answer (thought parts, text parts, calls with and without ids and thought signatures, a
signature on a text part or a last empty one, a finish reason, usage) is rendered both as a
non-streaming `GenerateContentResponse` and as an `alt=sse` stream (text cut into pieces, a signature on
the last piece of its part, usage on every event), serialized to SSE bytes and cut at random byte
offsets. Then:
- the byte cut never changes the client events;
- the client stream obeys the Anthropic grammar (every block started and stopped once, indexes 0, 1...);
- the real anthropic SDK accumulates it to exactly the non-streaming translation of the same answer;
- every thought signature and Gemini call id comes back on the next request, on the part it came with
  (but a text part's signature that ends the message: see engine.wire.gemini_stream).
"""

from __future__ import annotations

import base64
import itertools
import json
from typing import Any

from anthropic.lib.streaming._messages import accumulate_event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cc_proxy.engine.wire.gemini import StreamTranslator, translate_response
from cc_proxy.engine.wire.gemini_request import translate_request
from cc_proxy.engine.wire.sse import SSEDecoder
from cc_proxy.engine.wire.types import SSEEvent
from tests.openai.invariants import check_stream
from tests.openai.support import make_ctx, make_target

texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=30)
signatures = st.none() | st.binary(min_size=1, max_size=24).map(lambda b: base64.b64encode(b).decode())
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
parts = st.one_of(
    st.builds(lambda t, s: {"text": t, "thought": True, **({"thoughtSignature": s} if s else {})}, texts, signatures),
    st.builds(lambda t, s: {"text": t, **({"thoughtSignature": s} if s else {})}, texts, signatures),
    st.builds(
        lambda name, args, call_id, s: {
            "functionCall": {**({"id": call_id} if call_id else {}), "name": name, "args": args},
            **({"thoughtSignature": s} if s else {}),
        },
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True),
        st.dictionaries(st.text(max_size=6), json_values, max_size=4),
        st.none() | st.from_regex(r"fc_[a-z0-9]{1,6}", fullmatch=True),
        signatures,
    ),
)
usages = st.none() | st.fixed_dictionaries(
    {
        "promptTokenCount": st.integers(0, 10**6),
        "cachedContentTokenCount": st.integers(0, 1000),
        "candidatesTokenCount": st.integers(0, 10**5),
        "thoughtsTokenCount": st.integers(0, 10**4),
    }
)


def _pieces(data: st.DataObject, text: str) -> list[str]:
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(text) - 1)), max_size=3)) if len(text) > 1 else [])
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds) if a < b] or [text]


def _event(parts: list[dict[str, Any]], usage: Any, finish: str | None = None) -> str:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    body: dict[str, Any] = {"candidates": [candidate], "modelVersion": "gemini-x"}
    if usage is not None:
        body["usageMetadata"] = usage
    return "data: " + json.dumps(body) + "\r\n\r\n"


@st.composite
def answers(draw: st.DrawFn) -> dict[str, Any]:
    data = draw(st.data())
    answer: dict[str, Any] = {
        "parts": draw(st.lists(parts, max_size=6)),
        "usage": draw(usages),
        "finish": draw(st.sampled_from(["STOP", "STOP", "MAX_TOKENS", "SAFETY"])),
        "estimate": draw(st.integers(0, 5000)),
    }
    if draw(st.booleans()):  # Gemini 3: the answer's signature on a last, empty text part
        answer["parts"].append({"text": "", "thoughtSignature": draw(signatures) or "c2ln"})
    events: list[str] = []
    for part in answer["parts"]:
        if part.get("text"):
            pieces = _pieces(data, part["text"])
            for n, piece in enumerate(pieces):
                signed = n == len(pieces) - 1
                events.append(
                    _event(
                        [{k: v for k, v in part.items() if k != "thoughtSignature" or signed} | {"text": piece}],
                        answer["usage"],
                    )
                )
        else:
            events.append(_event([part], answer["usage"]))
    events.append(_event([], answer["usage"], answer["finish"]))
    raw = "".join(events).encode()
    cuts = sorted(data.draw(st.sets(st.integers(1, len(raw) - 1), max_size=8)))
    answer["raw"] = raw
    answer["split"] = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    return answer


def _non_stream_body(answer: dict[str, Any]) -> dict[str, Any]:
    candidate = {"content": {"role": "model", "parts": answer["parts"]}, "finishReason": answer["finish"], "index": 0}
    body: dict[str, Any] = {"candidates": [candidate]}
    if answer["usage"] is not None:
        body["usageMetadata"] = answer["usage"]
    return body


def _translate(answer: dict[str, Any], chunks: list[bytes]) -> list[SSEEvent]:
    translator = StreamTranslator(make_ctx(make_target("gemini"), input_tokens_estimate=answer["estimate"]))
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


def _opens_a_block(part: dict[str, Any]) -> bool:
    return "functionCall" in part or part.get("thought") is True or bool(part.get("text"))


def _signed(parts: list[dict[str, Any]], *, sent: bool = False) -> list[tuple[str, str | None, str | None]]:
    """(kind, call id, signature) of every part that carries a signature or a call id. `sent`: those the
    proxy gives the client, i.e. without text-part signatures no block follows (they end the message)."""
    out = []
    for n, part in enumerate(parts):
        if (
            sent
            and "functionCall" not in part
            and not part.get("thought")
            and not any(map(_opens_a_block, parts[n + 1 :]))
        ):
            continue
        call = part.get("functionCall")
        if call is not None and (call.get("id") or part.get("thoughtSignature")):
            out.append(("call", call.get("id"), part.get("thoughtSignature")))
        elif part.get("thoughtSignature"):
            out.append(("thought" if part.get("thought") else "text", None, part["thoughtSignature"]))
    return out


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
    ctx = make_ctx(make_target("gemini"), input_tokens_estimate=answer["estimate"])
    message = translate_response(_non_stream_body(answer), ctx)
    assert streamed == _strip_nulls(message)

    # Claude Code sends the answer back as the next request's assistant turn: every signature and call
    # id is restored (a thought part's on the thought, a call's on the call; a text part's on text).
    body = translate_request(
        make_target("gemini"),
        {"messages": [{"role": "user", "content": "go"}, {"role": "assistant", "content": message["content"]}]},
    )
    restored = [p for c in body["contents"] if c["role"] == "model" for p in c["parts"]]
    assert _signed(restored) == _signed(answer["parts"], sent=True)
