"""The real SDKs as judges: `openai` must accept every Responses request we build (its `responses.create`
parameter types, and the exact JSON it puts on the wire), and `anthropic` must consume every client
stream we produce and accumulate it to the non-streaming translation of the same answer."""

from __future__ import annotations

import copy
import json
from typing import Any, get_type_hints

import anthropic
import httpx
import httpx2
import openai
import pytest
from openai.types.responses.response_create_params import (
    ResponseCreateParamsNonStreaming,
    ResponseCreateParamsStreaming,
)

from cc_proxy.engine.wire.responses import translate_response
from tests.openai.test_sdks import _anthropic_final, _without_nulls
from tests.openai.typed_check import Mismatch, check
from tests.responses import golden

REQUEST_CASES = [n for n in golden.case_names() if golden.request_input(n) is not None]
STREAM_CASES = [n for n in golden.case_names() if (golden.CASES_DIR / n / "upstream.sse").is_file()]
KNOWN_PARAMS = set(get_type_hints(ResponseCreateParamsStreaming))


def check_request_body(body: dict[str, Any]) -> None:
    """A whole Responses body against the SDK's create() params (streaming or not)."""
    check(body, ResponseCreateParamsStreaming if body.get("stream") is True else ResponseCreateParamsNonStreaming)


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
        (lambda b: b["input"].append({"type": "function_call_output", "output": 1}), "output not a string"),
        (lambda b: b["input"].append({"type": "reasoning", "encrypted_content": "x"}), "reasoning without id"),
        (lambda b: b["tools"][0].pop("strict"), "function tool without strict"),
        (lambda b: b["tools"][0].update(function={"name": "x"}), "Chat Completions tool shape"),
        (lambda b: b.update(max_tokens=10), "Anthropic/Chat field name"),
        (lambda b: b.update(tool_choice="any"), "Anthropic tool_choice spelling"),
        (lambda b: b["input"][0]["content"].append({"type": "image", "source": {}}), "Anthropic image block"),
    ],
)
def test_type_check_catches_wrong_shapes(mutate: Any, why: str) -> None:
    request = golden.run_request("r04_reasoning_round_trip")
    assert request is not None
    body = copy.deepcopy(request["body"])
    mutate(body)
    with pytest.raises(Mismatch):
        check_request_body(body)


@pytest.mark.parametrize("name", REQUEST_CASES)
def test_openai_sdk_sends_the_same_body(name: str) -> None:
    """client.responses.create(**our body) puts exactly our JSON on the wire, at our path."""
    request = golden.run_request(name)
    assert request is not None
    body = request["body"]
    captured: list[bytes] = []

    def handler(req: httpx.Request) -> httpx.Response:
        captured.append(req.read())
        assert req.url.path == "/v1" + request["path"]
        if body.get("stream"):
            return httpx.Response(200, content=b"", headers={"content-type": "text/event-stream"})
        upstream = golden.CASES_DIR / "r01_say_hi_fixture" / "upstream_response.json"
        return httpx.Response(200, content=upstream.read_bytes(), headers={"content-type": "application/json"})

    client = _openai_client(handler)
    unknown = set(body) - KNOWN_PARAMS
    assert not unknown
    result = client.responses.create(**body)
    if body.get("stream"):
        assert list(result) == []  # type: ignore[call-overload]
    assert json.loads(captured[0]) == body


def _openai_final(raw: bytes) -> dict[str, Any]:
    """The upstream stream read by the openai SDK itself: the response object of its terminal event
    (the SDK's helper accepts only `response.completed`, not `response.incomplete`)."""

    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=raw, headers={"content-type": "text/event-stream"})

    client = _openai_client(handler)
    final: dict[str, Any] = {}
    with client.responses.stream(model="m", input="x") as stream:
        for event in stream:
            if event.type in ("response.completed", "response.incomplete"):
                final = event.response.model_dump(mode="json", exclude_none=True)
    assert final, "no terminal event"
    return final


@pytest.mark.parametrize("name", STREAM_CASES)
def test_anthropic_sdk_consumes_stream(name: str) -> None:
    case = golden.load_case(name)
    folder = golden.CASES_DIR / name
    raw = (folder / "client.sse").read_bytes()
    events, translator = golden.translate_stream(case, (folder / "upstream.sse").read_bytes())
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
    if not case.get("stream_matches_response", True):
        return
    expected = translate_response(json.loads((folder / "upstream_response.json").read_text()), golden.ctx_for(case))
    assert final == _without_nulls(expected)
    # The upstream stream as the openai SDK accumulates it, translated in one piece: the same message.
    completion = _openai_final((folder / "upstream.sse").read_bytes())
    assert final == _without_nulls(translate_response(completion, golden.ctx_for(case)))
