"""One test per golden case of the OpenAI front doors (tests/inbound/golden.py), and the real openai SDK
as judge: every rendered stream, accumulated by the SDK itself, is the rendered non-stream answer."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from tests.inbound import golden

CASES = golden.case_ids()
IDS = [f"{area}/{name}" for area, name in CASES]
STREAMED = [(a, n) for a, n in CASES if (golden.CASES / a / n / "anthropic.sse").is_file()]


@pytest.mark.parametrize(("area", "name"), CASES, ids=IDS)
def test_golden_case(area: str, name: str) -> None:
    outputs = golden.run_case(area, name)
    assert outputs, "a case produces something"
    for file, value in outputs.items():
        assert value == golden.expected(area, name, file), f"{file} differs (regenerate and review the diff)"


def _sdk(raw: bytes) -> openai.OpenAI:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=raw, headers={"content-type": "text/event-stream"})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    return openai.OpenAI(api_key="sk-test", base_url="http://127.0.0.1:9/v1", http_client=http, max_retries=0)


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning")
@pytest.mark.parametrize(("area", "name"), STREAMED, ids=[f"{a}/{n}" for a, n in STREAMED])
def test_sdk_accumulates_the_stream_to_the_answer(area: str, name: str) -> None:
    raw = golden.expected(area, name, "client.sse")
    answer: dict[str, Any] = golden.expected(area, name, "client.json")
    request = json.loads((golden.CASES / area / name / "request.json").read_text())
    sdk = _sdk(raw)
    if area == "openai_inbound":
        with sdk.chat.completions.stream(model="m", messages=[{"role": "user", "content": "x"}]) as stream:
            events = [event.type for event in stream]
            final = stream.get_final_completion().model_dump(exclude_none=True, warnings=False)
        assert events.count("content.done") <= 1
        expected = openai.types.chat.ChatCompletion.model_validate(answer).model_dump(exclude_none=True)
        if not request.get("stream_options", {}).get("include_usage"):
            expected.pop("usage", None)
        assert _calls_parsed(final) == _calls_parsed(expected)
    else:
        with sdk.responses.stream(model="m", input="x") as stream:
            events = list(stream)
        kinds = [event.type for event in events]
        assert kinds[0] == "response.created" and kinds[-1] in ("response.completed", "response.incomplete")
        assert [event.sequence_number for event in events] == list(range(len(events)))
        # the last event's response, and the SDK's own accumulation (it keeps one only for
        # response.completed), both equal the non-stream answer
        last = events[-1].response.model_dump(exclude_none=True, warnings=False)  # type: ignore[union-attr]
        expected = openai.types.responses.Response.model_validate(answer).model_dump(exclude_none=True)
        assert _calls_parsed(last) == _calls_parsed(expected)
        if kinds[-1] == "response.completed":
            final = stream.get_final_response().model_dump(exclude_none=True, warnings=False)
            assert _calls_parsed(final) == _calls_parsed(expected)


def _calls_parsed(value: Any) -> Any:
    """Tool-call arguments compared as JSON (a stream carries the model's own spacing), without the
    `index` the SDK adds while accumulating chat tool calls."""
    if isinstance(value, dict):
        out = {k: _calls_parsed(v) for k, v in value.items() if k != "index" or "function" not in value}
        if isinstance(out.get("arguments"), str):
            out["arguments"] = json.loads(out["arguments"])
        return out
    if isinstance(value, list):
        return [_calls_parsed(v) for v in value]
    return value
