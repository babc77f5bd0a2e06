"""Proxy-made error responses: Anthropic error bodies with a request id, never a key or a traceback."""

from __future__ import annotations

import secrets

import orjson
from sanic.response import HTTPResponse

from engine.errors import ERROR_TYPE_BY_STATUS, ProxyError

JSON = "application/json"

# Anthropic error type -> the HTTP status the proxy answers with (for first-event `error` streams).
STATUS_BY_ERROR_TYPE: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def new_request_id() -> str:
    return "req_cc" + secrets.token_hex(12)


def error_body(status: int, message: str, error_type: str = "") -> bytes:
    kind = error_type or ERROR_TYPE_BY_STATUS.get(status, "api_error")
    return orjson.dumps({"type": "error", "error": {"type": kind, "message": message}})


def error_response(err: ProxyError, headers: dict[str, str]) -> HTTPResponse:
    """`headers` already carries the request id and the x-cc-proxy-* headers."""
    out = dict(headers)
    out.update(err.headers)
    if err.should_retry is not None:
        out["x-should-retry"] = "true" if err.should_retry else "false"
    return HTTPResponse(orjson.dumps(err.body()), status=err.status, headers=out, content_type=JSON)


def bad_request(message: str) -> ProxyError:
    return ProxyError(400, message, should_retry=False)
