"""The real SDKs as judges. google-genai's own types (extra fields forbidden) must accept every request
body we build; the anthropic SDK must consume every client stream we produce and accumulate it to the
non-streaming translation of the same answer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from anthropic.lib.streaming._messages import accumulate_event
from google.genai import types

from tests.gemini import golden

REQUEST_CASES = [n for n in golden.case_names() if golden.request_input(n) is not None]
STREAM_CASES = [n for n in golden.case_names() if (golden.CASES_DIR / n / "upstream.sse").is_file()]
# Request body field -> the google-genai type that describes it.
BODY_TYPES: dict[str, Any] = {
    "systemInstruction": types.Content,
    "toolConfig": types.ToolConfig,
    "generationConfig": types.GenerationConfig,
}


def check_body(body: dict[str, Any]) -> None:
    """Validate every field with the SDK's pydantic types (camelCase aliases, unknown keys rejected)."""
    for content in body["contents"]:
        types.Content.model_validate(content)
    for tool in body.get("tools", []):
        types.Tool.model_validate(tool)
    for field, model in BODY_TYPES.items():
        if field in body:
            model.model_validate(body[field])
    for setting in body.get("safetySettings", []):
        types.SafetySetting.model_validate(setting)
    known = {"contents", "tools", "safetySettings", "cachedContent", "labels", *BODY_TYPES}
    assert set(body) <= known, set(body) - known


@pytest.mark.parametrize("name", REQUEST_CASES)
def test_google_genai_types_accept_request(name: str) -> None:
    request = golden.run_request(name)
    assert request is not None
    check_body(request["body"])


def test_the_type_check_catches_anthropic_shapes() -> None:
    request = golden.run_request("g03_tool_round_trip_request")
    assert request is not None
    body = request["body"]
    body["contents"][0]["parts"].append({"type": "text", "text": "an Anthropic block"})
    with pytest.raises(ValueError):
        check_body(body)
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False, "$schema": "x"}
    with pytest.raises(ValueError):
        types.Schema.model_validate({**schema, "$schema": "x"})


def _accumulate(client_sse: bytes) -> dict[str, Any]:
    from cc_proxy.engine.wire.sse import SSEDecoder

    snapshot = None
    bufs: dict[int, bytes] = {}
    for event in SSEDecoder().feed(client_sse):
        payload = json.loads(event.data)
        snapshot = accumulate_event(event=payload, current_snapshot=snapshot, json_bufs=bufs)  # type: ignore[arg-type]
    assert snapshot is not None
    dumped: dict[str, Any] = snapshot.model_dump(exclude_none=True, warnings=False)
    return dumped


def _strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


@pytest.mark.parametrize("name", STREAM_CASES)
def test_anthropic_sdk_accumulates_every_stream(name: str) -> None:
    stream = golden.run_stream(name)
    assert stream is not None
    events, translator = golden.translate_stream(
        golden.load_case(name), (golden.CASES_DIR / name / "upstream.sse").read_bytes()
    )
    if not translator.completed:  # a failed stream ends with its error, a cut one with nothing
        assert (events[-1].event == "error") == translator.done
        return
    streamed = _strip_nulls(_accumulate(stream))
    response = golden.run_response(name)
    if response is not None:  # the same answer in one piece translates to the same message
        assert streamed == _strip_nulls(response)
