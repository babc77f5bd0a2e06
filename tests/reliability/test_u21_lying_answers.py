"""Issue 10, upstream answers that lie: an Anthropic-format 200 whose body is `{"type": "error"}` is that
error, with its status (overloaded_error -> 529), retried and failed over like it; a 200 whose JSON is
not a Messages response at all is a 502 saying so, never relayed as a 200."""

from __future__ import annotations

import pytest

from tests.fakes import anthropic_stream as A
from tests.fakes.responses import Json
from tests.reliability.conftest import OK, STREAM, Rel


def _error_200(error_type: str, message: str = "lying 200") -> Json:
    return Json({"type": "error", "error": {"type": error_type, "message": message}}, status=200)


@pytest.mark.parametrize(("error_type", "status"), [("overloaded_error", 529), ("api_error", 500)])
def test_u21_a_200_error_body_is_its_status_and_retried(rel: Rel, error_type: str, status: int) -> None:
    rel.fake.always("/v1/messages", _error_200(error_type))
    response = rel.post("/v1/messages", OK)
    assert response.status_code == status
    assert response.json() == {"type": "error", "error": {"type": error_type, "message": "lying 200"}}
    assert len(rel.fake.requests) == 3  # a failure like a 529/500: retried (2 extra attempts in the tests)


def test_u21_a_200_error_body_fails_over_to_the_fallback(rel: Rel) -> None:
    rel.fake.always("/v1/messages", _error_200("overloaded_error"))
    rel.fake.always("/compat/v1/messages", A.auto(A.message(A.text("backup"))))
    response = rel.post("/v1/messages", {**OK, "model": "fb-x"})
    assert response.status_code == 200
    assert response.json()["content"][0]["text"] == "backup"


def test_u21_a_200_caller_error_body_is_a_400_not_retried(rel: Rel) -> None:
    rel.fake.always("/v1/messages", _error_200("invalid_request_error", "max_tokens: too large"))
    response = rel.post("/v1/messages", OK)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "max_tokens: too large"
    assert len(rel.fake.requests) == 1


@pytest.mark.parametrize("body", [STREAM, OK], ids=["stream-request", "json-request"])
def test_u21_a_200_that_is_not_a_messages_response_is_a_502(rel: Rel, body: dict[str, object]) -> None:
    rel.fake.always("/v1/messages", Json({"hello": "world"}))
    response = rel.post("/v1/messages", body)
    assert response.status_code == 502
    assert "not a Messages response" in response.json()["error"]["message"]
