"""The real SDKs as judges: `openai` must accept every upstream request we build, `anthropic` must
consume every client stream we produce and accumulate it to the non-streaming translation."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any, get_type_hints

import anthropic
import httpx
import httpx2
import openai
import pytest
from openai.types.chat.completion_create_params import CompletionCreateParamsStreaming

from cc_proxy.engine.wire.openai import translate_response
from tests.openai import golden
from tests.openai.typed_check import Mismatch, check_request_body

REQUEST_CASES = [n for n in golden.case_names() if golden.request_input(n) is not None]
STREAM_CASES = [n for n in golden.case_names() if (golden.CASES_DIR / n / "upstream.sse").is_file()]
KNOWN_PARAMS = set(get_type_hints(CompletionCreateParamsStreaming))


def _openai_client(handler: Any) -> openai.OpenAI:
    http_client = httpx.Client(transport=httpx.MockTransport(handler))
    return openai.OpenAI(api_key="sk-test", base_url="http://127.0.0.1:9/v1", http_client=http_client)


@pytest.mark.parametrize("name", REQUEST_CASES)
def test_openai_sdk_types_accept_request(name: str) -> None:
    request = golden.run_request(name)
    assert request is not None
    check_request_body(request["body"])


@pytest.mark.parametrize(
    ("mutate", "why"),
    [
        (lambda b: b["messages"].append({"role": "tool", "content": "x"}), "tool message without tool_call_id"),
        (lambda b: b["messages"].append({"role": "user", "content": [{"type": "image", "source": {}}]}), "image"),
        (lambda b: b.update(cache_control={"type": "ephemeral"}), "Anthropic-only field"),
        (lambda b: b.update(tool_choice="any"), "Anthropic tool_choice spelling"),
    ],
)
def test_type_check_catches_anthropic_shapes(mutate: Any, why: str) -> None:
    request = golden.run_request("e04_multiple_tool_use")
    assert request is not None
    body = copy.deepcopy(request["body"])
    mutate(body)
    with pytest.raises(Mismatch):
        check_request_body(body)


@pytest.mark.parametrize("name", REQUEST_CASES)
def test_openai_sdk_sends_the_same_body(name: str) -> None:
    """client.chat.completions.create(**our body) puts exactly our JSON on the wire."""
    request = golden.run_request(name)
    assert request is not None
    body = request["body"]
    captured: list[bytes] = []

    def handler(req: httpx.Request) -> httpx.Response:
        captured.append(req.read())
        assert req.url.path == "/v1" + request["path"]
        if body.get("stream"):
            return httpx.Response(200, content=b"data: [DONE]\n\n", headers={"content-type": "text/event-stream"})
        answer = {"id": "c", "object": "chat.completion", "created": 1, "model": "m", "choices": []}
        return httpx.Response(200, json=answer)

    client = _openai_client(handler)
    known = {k: v for k, v in body.items() if k in KNOWN_PARAMS}
    extra = {k: v for k, v in body.items() if k not in KNOWN_PARAMS}
    result = client.chat.completions.create(**known, extra_body=extra or None)
    if body.get("stream"):
        assert list(result) == []  # type: ignore[arg-type]
    assert json.loads(captured[0]) == body


def _anthropic_final(raw: bytes, *, cut: bool = False) -> Any:
    """`cut`: the connection breaks after `raw`, as the server mirrors an upstream cut (U12)."""

    # anthropic 2.x ships its own httpx fork (httpx2); its MockTransport is the same seam.
    def body() -> Iterator[bytes]:
        yield raw
        raise httpx2.RemoteProtocolError("peer closed connection without sending complete message body")

    def handler(req: httpx2.Request) -> httpx2.Response:
        content = body() if cut else raw
        return httpx2.Response(200, content=content, headers={"content-type": "text/event-stream"})

    http_client = httpx2.Client(transport=httpx2.MockTransport(handler))
    client = anthropic.Anthropic(api_key="sk-test", base_url="http://127.0.0.1:9", http_client=http_client)
    with client.messages.stream(model="claude-test", max_tokens=10, messages=[{"role": "user", "content": "x"}]) as s:
        return s.get_final_message()


def _openai_final(raw: bytes) -> dict[str, Any]:
    """The upstream stream accumulated by the openai SDK itself: the same answer, non-streamed."""

    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=raw, headers={"content-type": "text/event-stream"})

    client = _openai_client(handler)
    with client.chat.completions.stream(model="m", messages=[{"role": "user", "content": "x"}]) as s:
        for _ in s:
            pass
        final: dict[str, Any] = s.get_final_completion().model_dump(exclude_none=True, warnings=False)
    return final


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning")  # openai SDK, object arguments
@pytest.mark.parametrize("name", STREAM_CASES)
def test_anthropic_sdk_consumes_stream(name: str) -> None:
    case = golden.load_case(name)
    raw = (golden.CASES_DIR / name / "client.sse").read_bytes()
    events, translator = golden.translate_stream(case, (golden.CASES_DIR / name / "upstream.sse").read_bytes())
    if not translator.done:  # cut short: the client's connection breaks, the SDK raises the broken read
        with pytest.raises(httpx2.RemoteProtocolError):
            _anthropic_final(raw, cut=True)
        return
    if not translator.completed:
        with pytest.raises(anthropic.APIStatusError) as info:
            _anthropic_final(raw)
        assert json.loads(events[-1].data)["error"]["type"] in str(info.value.body)
        return
    final = _anthropic_final(raw).model_dump(exclude_none=True)
    path = golden.CASES_DIR / name / "upstream_response.json"
    if path.is_file() and case.get("stream_matches_response", True):
        expected = translate_response(json.loads(path.read_text()), golden.ctx_for(case))
        assert final == _without_nulls(expected)
    # Whatever the case files hold: the stream's own answer, accumulated by the openai SDK and
    # translated in one piece, is what the anthropic SDK accumulates from our stream.
    if case.get("stream_matches_response", True) and not case.get("openai_sdk_cannot_accumulate"):
        completion = _openai_final((golden.CASES_DIR / name / "upstream.sse").read_bytes())
        assert final == _without_nulls(translate_response(completion, golden.ctx_for(case)))


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value
