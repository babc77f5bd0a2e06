"""The request log line (and usage record) counts an OpenAI client's tokens on every path: read from
the Anthropic form before rendering, or from OpenAI's own usage when the answer went through as sent."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.fakes import anthropic_stream as A
from tests.fakes import openai_stream as O
from tests.reliability.conftest import log_entries, wait_for_log
from tests.server.conftest import CLIENT_KEY, Stack

HI: list[Any] = [{"role": "user", "content": "hi"}]
CACHED = {**O.DEFAULT_USAGE, "prompt_tokens": 121, "prompt_tokens_details": {"cached_tokens": 100}}


def _post(stack: Stack, body: dict[str, Any]) -> dict[str, Any]:
    """The request's log line (the `request-id` header may be the upstream's own: the proxy's lines
    that came after those already there are this request's)."""
    seen = len([e for e in log_entries(stack.proxy) if e.get("event") == "request"])
    response = stack.post("/v1/chat/completions", body, {"authorization": f"Bearer {CLIENT_KEY}"})
    assert response.status_code == 200, response.text
    lines = wait_for_log(stack.proxy, lambda e: e.get("event") == "request")
    for _ in range(20):  # each wait returns at once once any line is there; the new one follows shortly
        if len(lines) > seen:
            break
        time.sleep(0.05)
        lines = wait_for_log(stack.proxy, lambda e: e.get("event") == "request")
    [line] = lines[seen:]
    return line


@pytest.mark.parametrize("stream", [False, True])
def test_openai_target_usage_is_openais_own(stack: Stack, stream: bool) -> None:
    stack.fake.always("/v1/chat/completions", O.auto(content=["Hi"], usage=CACHED))
    body = {"model": "gpt-4o", "messages": HI, "stream": stream, "stream_options": {"include_usage": True}}
    if not stream:
        del body["stream_options"]
    line = _post(stack, body)
    assert (line["tokens_in"], line["tokens_cache_read"], line["tokens_out"]) == (21, 100, 9)


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_target_usage_is_read_before_rendering(stack: Stack, stream: bool) -> None:
    usage = {"input_tokens": 7, "output_tokens": 3, "cache_read_input_tokens": 50, "cache_creation_input_tokens": 4}
    stack.fake.always("/v1/messages", A.auto(A.message(A.text("Hi"), usage=usage)))
    line = _post(stack, {"model": "sonnet", "messages": HI, "stream": stream})
    assert (line["tokens_in"], line["tokens_cache_read"], line["tokens_cache_write"], line["tokens_out"]) == (
        7,
        50,
        4,
        3,
    )
    assert line["inbound"] == "openai-chat"
