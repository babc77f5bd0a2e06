"""The error table and upstream faults (reliability U*/C*): statuses, bodies, retries, fallbacks."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import anthropic_stream as A
from tests.fakes import openai_stream as O
from tests.fakes.responses import Close, Hang, Json, Raw, Stream, anthropic_error, html
from tests.fakes.server import FakeUpstream
from tests.server.conftest import RULES, Stack, base_config, start_proxy, write_stack_files

OK = {"model": "claude-x", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
STREAM = {**OK, "stream": True}


def _error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body["type"] == "error", body
    assert response.headers.get("request-id"), "every error carries a request id"
    return dict(body["error"])


BAD_BODIES: dict[str, bytes] = {
    "syntax": b'{"model": "m", ',
    "empty": b"",
    "array": b"[]",
    "nan": b'{"model": "m", "max_tokens": NaN, "messages": []}',
    "lone-surrogate": b'{"model": "\\ud800", "messages": []}',
    "non-utf8": b'{"model": "\xc3\x28", "messages": []}',
    "deep": b'{"model": "m", "messages": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    # compact (the bytes orjson would write, but for the duplicate) and pretty-printed: both checks
    "duplicate-model": b'{"model":"m","max_tokens":5,"model":"other","messages":[]}',
    "duplicate-nested": json.dumps({**OK}).encode().replace(b'"content": "hi"', b'"content": "hi", "content": 5'),
    "messages-string": json.dumps({**OK, "messages": "x"}).encode(),
    "max-tokens-string": json.dumps({**OK, "max_tokens": "10"}).encode(),
    "content-number": json.dumps({**OK, "messages": [{"role": "user", "content": 5}]}).encode(),
    "stream-string": json.dumps({**OK, "stream": "yes"}).encode(),
    "missing-model": json.dumps({"messages": OK["messages"], "max_tokens": 5}).encode(),
    "missing-messages": json.dumps({"model": "m", "max_tokens": 5}).encode(),
}


@pytest.mark.parametrize("raw", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_input_is_400_and_never_reaches_the_upstream(stack: Stack, raw: bytes) -> None:
    response = stack.post("/v1/messages", raw)
    assert response.status_code == 400
    assert _error(response)["type"] == "invalid_request_error"
    assert stack.fake.requests == []


def test_unknown_fields_and_query_are_forwarded_not_rejected(stack: Stack) -> None:
    stack.fake.add("/v1/messages", A.auto(A.message(A.text("ok"))))
    body = {**OK, "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]}, "brand_new": {"x": 1}}
    response = stack.post("/v1/messages?beta=true", body, {"anthropic-beta": "some-future-beta-2027-01-01"})
    assert response.status_code == 200
    sent = stack.fake.requests[0]
    assert sent.json["brand_new"] == {"x": 1} and sent.json["context_management"]["edits"]
    assert sent.headers["anthropic-beta"] == "some-future-beta-2027-01-01"


def test_body_over_the_limit_is_413(stack: Stack) -> None:
    # server.limits.max_body is 32 MiB by default; Sanic's REQUEST_MAX_SIZE refuses before reading it all.
    big = b'{"model": "m", "messages": [], "pad": "' + b"x" * (33 * 1024 * 1024) + b'"}'
    response = stack.post("/v1/messages", big, timeout=30)
    assert response.status_code == 413
    assert _error(response)["type"] == "request_too_large"


def test_unknown_provider_is_404_without_retry(stack: Stack) -> None:
    response = stack.post("/v1/messages", {**OK, "model": "nosuchprovider,some-model"})
    assert response.status_code == 404
    assert _error(response)["type"] == "not_found_error"
    assert response.headers["x-should-retry"] == "false"
    assert stack.fake.requests == []


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
def test_caller_errors_pass_through_unretried(stack: Stack, status: int) -> None:
    kinds = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
             404: "not_found_error", 413: "request_too_large"}
    stack.fake.always("/v1/messages", anthropic_error(status, kinds[status], f"upstream says {status}"))
    response = stack.post("/v1/messages", {**OK, "model": "fb-model"})  # has a fallback: still not used
    assert response.status_code == status
    assert response.json() == {
        "type": "error",
        "error": {"type": kinds[status], "message": f"upstream says {status}"},
        "request_id": "req_fake_error",
    }  # unchanged, byte for byte the upstream's body
    assert len(stack.fake.requests) == 1


def test_429_with_long_retry_after_passes_through_with_headers(stack: Stack) -> None:
    stack.fake.always(
        "/v1/messages",
        anthropic_error(
            429, "rate_limit_error", "slow down", retry_after="120",
            anthropic_ratelimit_requests_remaining="0", x_should_retry="true",
        ),
    )
    response = stack.post("/v1/messages", OK)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "120"
    assert response.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert response.headers["x-should-retry"] == "true"
    assert len(stack.fake.requests) == 1


def test_429_with_short_retry_after_is_retried_after_waiting(stack: Stack) -> None:
    stack.fake.add("/v1/messages", anthropic_error(429, "rate_limit_error", "blip", retry_after="1"),
                   A.auto(A.message(A.text("ok"))))
    response = stack.post("/v1/messages", OK)
    assert response.status_code == 200
    first, second = stack.fake.requests
    assert second.received_at - first.received_at >= 1.0


def test_429_without_retry_after_is_not_retried(stack: Stack) -> None:
    stack.fake.always("/v1/messages", anthropic_error(429, "rate_limit_error", "spend limit reached"))
    response = stack.post("/v1/messages", OK)
    assert response.status_code == 429
    assert len(stack.fake.requests) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 529])
def test_server_errors_are_retried_then_succeed(stack: Stack, status: int) -> None:
    stack.fake.add("/v1/messages", anthropic_error(status, "api_error", "boom"), A.auto(A.message(A.text("ok"))))
    response = stack.post("/v1/messages", OK)
    assert response.status_code == 200
    assert len(stack.fake.requests) == 2


def test_exhausted_retries_fall_back_to_the_next_model(stack: Stack) -> None:
    stack.fake.always("/v1/messages", anthropic_error(529, "overloaded_error", "Overloaded"))
    stack.fake.add("/compat/v1/messages", A.auto(A.message(A.text("from backup"))))
    response = stack.post("/v1/messages", {**OK, "model": "fb-model"})
    assert response.status_code == 200
    assert response.json()["content"][0]["text"] == "from backup"
    assert response.json()["model"] == "fb-model"
    assert response.headers["x-cc-proxy-target"] == "compat/backup-model"
    paths = [r.path for r in stack.fake.requests]
    assert paths == ["/v1/messages"] * 3 + ["/compat/v1/messages"]
    assert stack.fake.requests[-1].json["model"] == "backup-model"


def test_unset_key_goes_to_the_fallback_without_calling_the_keyless_target(stack: Stack) -> None:
    stack.fake.add("/compat/v1/messages", A.auto(A.message(A.text("backup"))))
    response = stack.post("/v1/messages", {**OK, "model": "nokey-model"})
    assert response.status_code == 200
    assert [r.path for r in stack.fake.requests] == ["/compat/v1/messages"]


def test_unset_key_without_fallback_is_a_proxy_error_not_an_empty_key(stack: Stack) -> None:
    response = stack.post("/v1/messages", {**OK, "model": "nokey"})  # the alias itself: no fallbacks
    assert response.status_code == 500
    assert response.headers["x-should-retry"] == "false"
    assert "CC_TEST_UNSET_KEY" in _error(response)["message"]
    assert stack.fake.requests == []


def test_connection_refused_fails_over_quickly(stack: Stack) -> None:
    stack.fake.add("/compat/v1/messages", A.auto(A.message(A.text("backup"))))
    started = time.monotonic()
    response = stack.post("/v1/messages", {**OK, "model": "dead-model"})
    assert response.status_code == 200
    assert time.monotonic() - started < 2


def test_connection_refused_without_fallback_is_502(stack: Stack) -> None:
    response = stack.post("/v1/messages", {**OK, "model": "dead"})
    assert response.status_code == 502
    error = _error(response)
    assert error["type"] == "api_error" and "could not connect" in error["message"]


def test_silent_upstream_is_504_after_the_first_byte_deadline(stack: Stack) -> None:
    stack.fake.always("/v1/messages", Hang())
    response = stack.post("/v1/messages", OK)
    assert response.status_code == 504
    assert _error(response)["type"] == "timeout_error"
    assert len(stack.fake.requests) == 1  # a timeout is not retried on the same target


def test_html_answer_is_502_quoting_a_bounded_snippet(stack: Stack) -> None:
    stack.fake.always("/v1/messages", html(200, "<html>" + "captive portal " * 100 + "</html>"))
    response = stack.post("/v1/messages", OK)
    assert response.status_code == 502
    message = _error(response)["message"]
    assert "captive portal" in message and len(message) < 400


def test_redirect_is_not_followed(stack: Stack) -> None:
    stack.fake.always("/v1/messages", Raw(b"", 302, {"location": "http://169.254.169.254/latest"}))
    response = stack.post("/v1/messages", OK)
    assert response.status_code == 502
    assert len(stack.fake.requests) == 1


def test_json_error_to_a_stream_request_is_an_http_error(stack: Stack) -> None:
    stack.fake.always("/v1/messages", anthropic_error(400, "invalid_request_error", "bad thing"))
    response = stack.post("/v1/messages", STREAM)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert _error(response)["message"] == "bad thing"


def test_first_event_error_is_its_status_not_a_200_stream(stack: Stack) -> None:
    stack.fake.always("/v1/messages", Stream([A.error_event("overloaded_error", "Overloaded")]))
    response = stack.post("/v1/messages", STREAM)
    assert response.status_code == 529
    assert _error(response) == {"type": "overloaded_error", "message": "Overloaded"}
    assert len(stack.fake.requests) == 3  # the gate makes it retryable like a 529


def _events(text: str) -> list[str]:
    return [line[len("event: "):] for line in text.splitlines() if line.startswith("event: ")]


def test_stream_closed_mid_way_is_mirrored_as_a_cut_connection(stack: Stack) -> None:
    """U12: the upstream closes (FIN) before message_stop: the client's connection ends the same way,
    after every whole event, with no terminating chunk and no invented error event."""
    chunks = A.message_stream(A.message(A.text("Hello world, how are you")))
    stack.fake.always("/v1/messages", Stream(chunks[:5], end="fin"))
    read = stack.post_stream("/v1/messages", STREAM)
    assert read.status == 200
    assert read.cut is not None and "incomplete chunked read" in read.cut
    events = _events(read.text)
    assert events[0] == "message_start"
    assert "error" not in events and "message_stop" not in events
    assert len(events) == 5 and read.body.endswith(chunks[4])  # every event the upstream sent, whole
    assert len(stack.fake.requests) == 1  # never retried after the first byte


def test_openai_stream_closed_before_done_is_mirrored_as_a_cut_connection(stack: Stack) -> None:
    chunks = O.chat_stream(content=["Hel", "lo"], finish_reason="stop")
    stack.fake.always("/v1/chat/completions", Stream(chunks[:-1], end="fin"))  # no [DONE]
    read = stack.post_stream("/v1/messages", {**STREAM, "model": "gpt-4o"})
    assert read.status == 200 and read.cut is not None
    events = _events(read.text)
    assert events[0] == "message_start" and "content_block_delta" in events
    assert "error" not in events and "message_stop" not in events


def test_stream_silent_after_start_gets_an_in_band_timeout(stack: Stack) -> None:
    chunks = A.message_stream(A.message(A.text("Hello world")))
    stack.fake.always("/v1/messages", Stream(chunks[:3], end="hang"))
    response = stack.post("/v1/messages", STREAM)  # idle timeout is 2 s in this config
    events = _events(response.text)
    assert events[-1] == "error" and "message_stop" not in events
    assert "timeout_error" in response.text
    request = stack.fake.requests[0]
    assert request.closed.wait(2), "the proxy must close the silent upstream connection"


def test_invalid_json_mid_stream_passes_through_and_is_not_a_crash(stack: Stack) -> None:
    chunks = A.message_stream(A.message(A.text("Hello")))
    broken = [*chunks[:3], b"event: content_block_delta\ndata: {not json\n\n"]
    stack.fake.always("/v1/messages", Stream(broken, end="fin"))
    response = stack.post("/v1/messages", STREAM)
    assert response.status_code == 200
    assert _events(response.text)[-1] == "error"


def test_upstream_reset_before_answer_is_retried_then_502(stack: Stack) -> None:
    stack.fake.always("/v1/messages", Close(rst=True))
    response = stack.post("/v1/messages", OK)
    assert response.status_code == 502
    assert len(stack.fake.requests) == 3


def test_openai_error_is_translated_to_an_anthropic_error(stack: Stack) -> None:
    stack.fake.always(
        "/v1/chat/completions",
        Json({"error": {"message": "bad key", "type": "invalid_request_error", "code": "invalid_api_key"}}, 401),
    )
    response = stack.post("/v1/messages", {**OK, "model": "gpt-4"})
    assert response.status_code == 401
    assert _error(response) == {"type": "authentication_error", "message": "bad key"}


def test_failing_target_is_ejected_and_its_fallback_used_directly(tmp_path: Path) -> None:
    """Reliability U6: after 5 failed requests the target is skipped while its fallback remains."""
    with FakeUpstream() as fake:
        fake.always("/v1/messages", anthropic_error(503, "overloaded_error", "down"))
        fake.always("/compat/v1/messages", A.auto(A.message(A.text("backup"))))
        config_path = write_stack_files(tmp_path, base_config(fake.url), RULES)
        proxy = start_proxy(config_path, args=("--eject-after", "5", "--eject-for", "60"))
        stack = Stack(fake, proxy, config_path)
        try:
            for _ in range(5):
                assert stack.post("/v1/messages", {**OK, "model": "fb-x"}).status_code == 200
            tried = sum(r.path == "/v1/messages" for r in fake.requests)
            # The first request retries twice; then the target's last 3 attempts have failed, so the next
            # four make one attempt each (server/retry.py RetryBudget) before going to the fallback.
            assert tried == 3 + 4
            for _ in range(3):
                response = stack.post("/v1/messages", {**OK, "model": "fb-x"})
                assert response.headers["x-cc-proxy-target"] == "compat/backup-model"
            assert sum(r.path == "/v1/messages" for r in fake.requests) == tried  # skipped while ejected
            # The target with no fallback left is never skipped: it is still tried.
            assert stack.post("/v1/messages", OK).status_code == 503
            assert sum(r.path == "/v1/messages" for r in fake.requests) == tried + 1  # still no retries
        finally:
            proxy.stop()


def test_oversized_header_is_413_before_the_handler(stack: Stack) -> None:
    response = stack.post("/v1/messages", OK, {"x-big": "a" * 65536})
    assert response.status_code == 413
    assert "header" in _error(response)["message"].lower()
    assert stack.fake.requests == []


def test_sse_event_over_the_cap_ends_the_stream_with_an_in_band_error(stack: Stack) -> None:
    chunks = A.message_stream(A.message(A.text("Hello")))
    huge = b"event: content_block_delta\ndata: " + b"x" * (9 * 1024 * 1024)  # no newline: one 9 MiB line
    stack.fake.always("/v1/messages", Stream([*chunks[:3], huge], end="hang"))
    response = stack.post("/v1/messages", STREAM, timeout=30)
    assert response.status_code == 200
    assert _events(response.text)[-1] == "error"
    assert len(response.content) < 1024 * 1024  # the huge line was never relayed
    assert stack.fake.requests[0].closed.wait(2)


def test_stream_cut_inside_an_event_never_sends_half_an_event(stack: Stack) -> None:
    chunks = A.message_stream(A.message(A.text("Hello world")))
    half = chunks[4][: len(chunks[4]) // 2]
    stack.fake.always("/v1/messages", Stream([*chunks[:4], half], end="fin"))
    read = stack.post_stream("/v1/messages", STREAM)
    assert read.status == 200 and read.cut is not None
    # the 4 whole events, then the cut; no part of the 5th
    assert len(_events(read.text)) == 4 and read.body.endswith(chunks[3])


def test_http_date_retry_after_reaches_the_client_as_integer_seconds(stack: Stack) -> None:
    from email.utils import formatdate

    when = formatdate(time.time() + 300, usegmt=True)
    stack.fake.always("/v1/messages", anthropic_error(429, "rate_limit_error", "later", retry_after=when))
    response = stack.post("/v1/messages", OK)
    assert response.status_code == 429
    assert 290 <= int(response.headers["retry-after"]) <= 301
    assert len(stack.fake.requests) == 1  # over 60 s: not retried by the proxy


def test_openai_stream_opening_with_an_error_is_an_http_error(stack: Stack) -> None:
    first = b'data: {"error": {"message": "model overloaded", "type": "server_error", "code": null}}\n\n'
    stack.fake.always("/v1/chat/completions", Stream([first]))
    response = stack.post("/v1/messages", {**STREAM, "model": "gpt-4o"})
    assert response.status_code >= 500
    assert response.headers["content-type"].startswith("application/json")
    assert _error(response)["message"] == "model overloaded"
    assert len(stack.fake.requests) == 3  # retried like its status


def test_unreadable_json_answer_is_502(stack: Stack) -> None:
    stack.fake.always("/v1/messages", Raw(b"[1, 2, 3]", 200, content_type="application/json"))
    response = stack.post("/v1/messages", OK)
    assert response.status_code == 502
    assert _error(response)["type"] == "api_error"
