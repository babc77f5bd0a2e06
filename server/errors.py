"""Proxy-made error responses: Anthropic error bodies with a request id, never a key or a traceback."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import orjson
from sanic.response import HTTPResponse

from cc_proxy.engine.errors import ERROR_TYPE_BY_STATUS, ProxyError
from cc_proxy.engine.wire.errors import STATUS_BY_ERROR_TYPE as STATUS_BY_ERROR_TYPE

JSON = "application/json"

def new_request_id() -> str:
    return "req_cc" + secrets.token_hex(12)


def error_body(status: int, message: str, error_type: str = "") -> bytes:
    kind = error_type or ERROR_TYPE_BY_STATUS.get(status, "api_error")
    return orjson.dumps({"type": "error", "error": {"type": kind, "message": message}})


def error_response(
    err: ProxyError, headers: dict[str, str], render: Callable[[bytes], bytes] | None = None
) -> HTTPResponse:
    """`headers` already carries the request id and the x-cc-proxy-* headers; `render` turns the
    Anthropic body into the client's error shape (server/inbound.py)."""
    out = dict(headers)
    out.update(err.headers)
    if err.should_retry is not None:
        out["x-should-retry"] = "true" if err.should_retry else "false"
    body = orjson.dumps(err.body())
    return HTTPResponse(render(body) if render else body, status=err.status, headers=out, content_type=JSON)


def bad_request(message: str) -> ProxyError:
    return ProxyError(400, message, should_retry=False)
