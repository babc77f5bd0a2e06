"""The Gemini fake checked against the real google-genai SDK: pointed at it, the SDK must send what the
proxy sends (path, `x-goog-api-key`, `alt=sse`) and parse every answer the fake gives."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from google import genai
from google.genai import errors, types

from tests.fakes import FakeUpstream
from tests.fakes import gemini as G

SIGNATURE = base64.b64encode(b"opaque thought state 1").decode()
ANSWER = G.response(
    G.thought("The user wants a file read."),
    G.text("Reading it now, héllo 世界."),
    G.call("Read", {"file_path": "src/app.py"}, signature=SIGNATURE),
    G.call("Grep", {"pattern": "x"}, id="fc_2"),
    usage={
        "promptTokenCount": 1300,
        "cachedContentTokenCount": 1024,
        "candidatesTokenCount": 40,
        "thoughtsTokenCount": 120,
        "totalTokenCount": 1460,
    },
)


@pytest.fixture
def up() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


def _client(url: str) -> genai.Client:
    # v1beta: the path the proxy calls (this SDK version defaults to v1)
    options = types.HttpOptions(base_url=url, api_version="v1beta", retry_options=types.HttpRetryOptions(attempts=1))
    return genai.Client(api_key="AIza-fake-key-for-tests-0001", http_options=options)


def test_sdk_parses_the_whole_answer(up: FakeUpstream) -> None:
    up.always("*", G.auto(ANSWER))
    client = _client(up.url)  # held: a dropped Client closes its HTTP client
    got = client.models.generate_content(model="gemini-fake-2.5", contents="read src/app.py")
    parts = got.candidates[0].content.parts
    assert [p.thought for p in parts] == [True, None, None, None]
    assert parts[2].function_call.name == "Read" and parts[2].function_call.args == {"file_path": "src/app.py"}
    assert parts[2].thought_signature == b"opaque thought state 1"
    assert parts[3].function_call.id == "fc_2"
    assert got.candidates[0].finish_reason == types.FinishReason.STOP
    assert got.usage_metadata.cached_content_token_count == 1024
    req = up.requests[0]
    assert (req.method, req.path, req.query) == ("POST", "/v1beta/models/gemini-fake-2.5:generateContent", "")
    assert req.headers["x-goog-api-key"] == "AIza-fake-key-for-tests-0001"
    assert req.json["contents"] == [{"role": "user", "parts": [{"text": "read src/app.py"}]}]


def test_sdk_parses_the_stream(up: FakeUpstream) -> None:
    up.always("*", G.auto(ANSWER, pieces=2))
    client = _client(up.url)
    chunks = list(client.models.generate_content_stream(model="gemini-fake-2.5", contents="hi"))
    parts = [p for c in chunks for p in c.candidates[0].content.parts]
    assert "".join(p.text for p in parts if p.text and not p.thought) == "Reading it now, héllo 世界."
    assert [p.function_call.name for p in parts if p.function_call] == ["Read", "Grep"]
    assert [p.thought_signature for p in parts if p.thought_signature] == [b"opaque thought state 1"]
    assert [c.candidates[0].finish_reason for c in chunks][-1] == types.FinishReason.STOP
    assert all(c.candidates[0].finish_reason is None for c in chunks[:-1])
    req = up.requests[0]
    assert (req.path, req.query) == ("/v1beta/models/gemini-fake-2.5:streamGenerateContent", "alt=sse")


def test_sdk_reads_the_error_and_its_retry_info(up: FakeUpstream) -> None:
    up.always("*", G.error(429, "You exceeded your current quota. Please retry in 53.01s.", retry_delay="53s"))
    client = _client(up.url)
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model="gemini-fake-2.5", contents="hi")
    assert caught.value.code == 429
    assert caught.value.status == "RESOURCE_EXHAUSTED"
    assert caught.value.details["error"]["details"][0]["retryDelay"] == "53s"
