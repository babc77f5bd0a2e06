"""Issue 10, security: an upstream that repeats the key it was sent ("invalid api key sk-...") never
gets it to the client or the log, whatever the path: Anthropic pass-through errors, translated errors,
HTML pages, a 200 with the wrong content type, a stream's first or a later error event, count_tokens
passed through, and the client's own key sent to a `forward` provider. The proxy knows the exact values
it sent, so keys no pattern recognises (`gsk_...`) are scrubbed too."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.fakes import anthropic_stream as A
from tests.fakes.responses import Json, Raw, Response, Stream, html
from tests.fakes.server import FakeUpstream, RecordedRequest
from tests.reliability.conftest import OK, STREAM, Rel, reliability_config, reliability_rules, start_recorded
from tests.server.conftest import ANTHROPIC_KEY, CLIENT_KEY, OPENAI_KEY, write_stack_files

GROQ_KEY = "gsk_canary7Hq2Wz9Lm4Xv"  # no pattern in engine.wire.errors.redact knows this shape
SECRETS = (ANTHROPIC_KEY, OPENAI_KEY, GROQ_KEY, CLIENT_KEY)


def _sent_key(req: RecordedRequest) -> str:
    return req.headers.get("x-api-key") or req.headers.get("authorization", "").removeprefix("Bearer ")


def _echo(status: int, kind: str = "authentication_error") -> Callable[[RecordedRequest], Response]:
    def answer(req: RecordedRequest) -> Response:
        error = {"type": kind, "message": f"invalid x-api-key {_sent_key(req)}"}
        return Json({"type": "error", "error": error}, status=status)

    return answer


@pytest.fixture(scope="module")
def echo_rel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rel]:
    base = tmp_path_factory.mktemp("echo")
    with FakeUpstream() as fake:
        config = reliability_config(fake.url, 9, count_tokens="upstream")
        config["providers"]["groq"] = {"format": "openai", "base_url": fake.url + "/groq/v1", "api_key": GROQ_KEY}
        config["models"]["groq"] = {"provider": "groq", "model": "llama"}
        rules = reliability_rules()
        rules["routing"].insert(0, {"id": "to-groq", "when": {"model": {"glob": "groq-*"}}, "model": "groq"})
        proxy = start_recorded(write_stack_files(base, config, rules), args=("--eject-after", "0"))
        try:
            yield Rel(fake, proxy, base / "cc-proxy.json")
        finally:
            proxy.stop()


@pytest.fixture
def echo(echo_rel: Rel) -> Rel:
    echo_rel.reset()
    return echo_rel


def _clean(rel: Rel, text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret[:6]}... reached the client"
        assert secret not in rel.proxy.log(), f"{secret[:6]}... reached the log"


def test_x10_anthropic_pass_through_error_echoing_the_key(echo: Rel) -> None:
    echo.fake.always("/v1/messages", _echo(401))
    response = echo.post("/v1/messages", OK)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "invalid x-api-key ***"
    _clean(echo, response.text)


def test_x10_translated_error_echoing_a_key_no_pattern_knows(echo: Rel) -> None:
    echo.fake.always("/groq/v1/chat/completions", lambda req: Json(
        {"error": {"message": f"Invalid API Key {_sent_key(req)}", "type": "invalid_request_error"}}, status=401))
    response = echo.post("/v1/messages", {**OK, "model": "groq-x"})
    assert response.status_code == 401
    assert "***" in response.json()["error"]["message"]
    _clean(echo, response.text)


def test_x10_html_401_page_echoing_the_key(echo: Rel) -> None:
    page = "<html><body>bad key {}</body></html>"
    echo.fake.always("/groq/v1/chat/completions", lambda req: html(401, page.format(_sent_key(req))))
    response = echo.post("/v1/messages", {**OK, "model": "groq-x"})
    assert response.status_code == 502
    _clean(echo, response.text)


def test_x10_a_200_with_the_wrong_content_type_quoting_the_key(echo: Rel) -> None:
    echo.fake.always("/groq/v1/chat/completions", lambda req: Raw(f"key {_sent_key(req)} ok".encode(), 200,
                                                                  content_type="text/plain"))
    response = echo.post("/v1/messages", {**OK, "model": "groq-x"})
    assert response.status_code == 502 and "text/plain" in response.text
    _clean(echo, response.text)


def test_x10_first_stream_event_error_echoing_the_key(echo: Rel) -> None:
    echo.fake.always("/v1/messages", lambda req: Stream([A.error_event("authentication_error",
                                                                       f"invalid x-api-key {_sent_key(req)}")]))
    response = echo.post("/v1/messages", STREAM)
    assert response.status_code == 401
    _clean(echo, response.text)


def test_x10_mid_stream_error_event_echoing_the_key(echo: Rel) -> None:
    def answer(req: RecordedRequest) -> Response:
        start = A.message_stream(A.message(A.text("Hel")))[:3]  # message_start, block start, a delta
        return Stream([*start, A.error_event("overloaded_error", f"overloaded for key {_sent_key(req)}")])

    echo.fake.always("/v1/messages", answer)
    response = echo.post("/v1/messages", STREAM)
    assert response.status_code == 200
    assert "event: error" in response.text and "overloaded for key ***" in response.text
    _clean(echo, response.text)


def test_x10_forwarded_client_key_echoed_by_the_forward_provider(echo: Rel) -> None:
    echo.fake.always("/fwd/v1/messages", _echo(401))
    response = echo.post("/v1/messages", {**OK, "model": "fwd-x"})
    assert echo.fake.requests[0].headers["x-api-key"] == CLIENT_KEY  # it was sent: the provider is `forward`
    assert response.status_code == 401
    _clean(echo, response.text)


def test_x10_count_tokens_error_passed_through_echoing_the_key(echo: Rel) -> None:
    echo.fake.always("/v1/messages/count_tokens", _echo(401))
    response = echo.post("/v1/messages/count_tokens", {"model": "claude-x", "messages": OK["messages"]})
    assert response.status_code == 401
    _clean(echo, response.text)
