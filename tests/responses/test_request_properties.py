"""Properties of the Responses request translator over generated Anthropic conversations: whatever the
history holds (text, images, documents, tool calls answered, unanswered or orphaned, our thinking blocks
with or without an encrypted item, foreign ones), the upstream request is a valid `responses.create`
request by the openai SDK's types, every `function_call` is answered by exactly one
`function_call_output` before the next turn, and every reasoning item is followed by an output item."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cc_proxy.engine.wire.reasoning import make_signature
from cc_proxy.engine.wire.responses_request import translate_request
from tests.openai.support import make_target
from tests.responses.test_sdks import check_request_body

words = st.text(alphabet="abc xyz\n", max_size=12)
call_ids = st.sampled_from(["toolu_1", "toolu_2", "call_3", "call_4"])
image = st.fixed_dictionaries(
    {"type": st.just("image"), "source": st.just({"type": "base64", "media_type": "image/png", "data": "iVBO"})}
)
text_block = st.builds(lambda t: {"type": "text", "text": t}, words)
thinking = st.one_of(
    st.builds(
        lambda t, n: {
            "type": "thinking",
            "thinking": t,
            "signature": make_signature(None, {"id": f"rs_{n}", "encrypted_content": "gAAA"}),
        },
        words,
        st.integers(0, 9),
    ),
    st.builds(lambda t: {"type": "thinking", "thinking": t, "signature": make_signature(None)}, words),
    st.builds(lambda t: {"type": "thinking", "thinking": t, "signature": "EqQBCkgIAxAB"}, words),
    st.just({"type": "redacted_thinking", "data": "EmwK"}),
)
tool_use = st.builds(
    lambda i, c: {"type": "tool_use", "id": i, "name": "Bash", "input": {"command": c}}, call_ids, words
)
tool_result = st.builds(
    lambda i, content, err: {"type": "tool_result", "tool_use_id": i, "content": content, "is_error": err},
    call_ids,
    words | st.lists(text_block | image, max_size=2),
    st.booleans(),
)
user = st.builds(
    lambda c: {"role": "user", "content": c}, words | st.lists(text_block | image | tool_result, max_size=4)
)
assistant = st.builds(
    lambda c: {"role": "assistant", "content": c}, words | st.lists(text_block | thinking | tool_use, max_size=4)
)
system = st.builds(lambda t: {"role": "system", "content": t}, words)
requests = st.fixed_dictionaries(
    {
        "model": st.just("gpt-5-codex"),
        "max_tokens": st.integers(1, 200000),
        "messages": st.lists(user | assistant | system, min_size=1, max_size=8),
        "stream": st.booleans(),
    },
    optional={
        "system": words,
        "thinking": st.sampled_from(
            [{"type": "adaptive"}, {"type": "disabled"}, {"type": "enabled", "budget_tokens": 5000}]
        ),
        "output_config": st.sampled_from([{"effort": "low"}, {"effort": "max"}, {"effort": "xhigh"}]),
        "tools": st.just(
            [{"name": "Bash", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}]
        ),
        "tool_choice": st.sampled_from(
            [{"type": "auto"}, {"type": "any"}, {"type": "none"}, {"type": "tool", "name": "Bash"}]
        ),
        "stop_sequences": st.just(["END"]),
        "temperature": st.floats(0, 1),
        "metadata": st.just({"user_id": '{"device_id":"d","session_id":"s-1"}'}),
    },
)


@settings(max_examples=200, deadline=None)
@given(requests, st.booleans())
def test_every_translated_request_is_valid(request: dict[str, Any], images: bool) -> None:
    body = translate_request(make_target("openai-responses", capabilities={"images": images}), request)
    check_request_body(body)
    assert "temperature" not in body and "stop" not in body
    assert body["store"] is False and body["max_output_tokens"] >= 16
    items = body["input"]
    open_calls: list[str] = []
    for i, item in enumerate(items):
        kind = item["type"]
        if kind == "function_call":
            open_calls.append(item["call_id"])
        elif kind == "function_call_output":
            assert item["call_id"] in open_calls, "an output answers a call made before it"
            open_calls.remove(item["call_id"])
        else:
            if kind == "message" and item["role"] in ("user", "developer"):
                assert not open_calls, "every call is answered before the next turn"
            if kind == "reasoning":
                following = items[i + 1] if i + 1 < len(items) else {}
                assert following.get("type") in ("reasoning", "function_call", "message")
                assert following.get("role") in (None, "assistant")
    assert not open_calls
