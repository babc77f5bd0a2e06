"""Upstream errors -> Anthropic errors (protocols.md 1.9, 2.6, 3.6, 4.11; reliability U19).

An Anthropic-format error passes through unchanged: Claude Code's recovery matches on its wording.
OpenAI-, Gemini- and FastAPI-style JSON errors keep their message and get the Anthropic type for their
status. Anything else (HTML pages, garbage) becomes a short `api_error` quoting the status and at
most 200 bytes of the body, with whatever looks like a credential redacted.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from cc_proxy.engine.wire.types import SSEEvent

SNIPPET_BYTES = 200
_MAX_MESSAGE = 4000

# Upstream HTTP status -> (status for the client, Anthropic error type).
_BY_STATUS: dict[int, tuple[int, str]] = {
    400: (400, "invalid_request_error"),
    401: (401, "authentication_error"),
    402: (402, "billing_error"),
    403: (403, "permission_error"),
    404: (404, "not_found_error"),
    408: (408, "timeout_error"),
    413: (413, "request_too_large"),
    422: (400, "invalid_request_error"),  # FastAPI/vLLM validation errors
    429: (429, "rate_limit_error"),
    500: (500, "api_error"),
    502: (502, "api_error"),
    503: (529, "overloaded_error"),  # clients retry 529 as "overloaded"
    504: (504, "timeout_error"),
    529: (529, "overloaded_error"),
}

# For a body we cannot read, only statuses whose meaning does not depend on the body keep it; the rest
# (an HTML 404 or 401 is a gateway or CDN talking, not the API) is a 502 so fallbacks are tried.
_GARBAGE_KEEPS = frozenset({408, 413, 429, 503, 504, 529})

# Error codes/types/statuses in a body, for answers whose HTTP status says nothing (a 200 with an error).
_BY_HINT: dict[str, tuple[int, str]] = {
    "invalid_request_error": (400, "invalid_request_error"),
    "invalid_argument": (400, "invalid_request_error"),
    "failed_precondition": (400, "invalid_request_error"),
    "authentication_error": (401, "authentication_error"),
    "invalid_api_key": (401, "authentication_error"),
    "unauthenticated": (401, "authentication_error"),
    "permission_denied": (403, "permission_error"),
    "permission_error": (403, "permission_error"),
    "not_found": (404, "not_found_error"),
    "model_not_found": (404, "not_found_error"),
    "rate_limit_exceeded": (429, "rate_limit_error"),
    "rate_limit_error": (429, "rate_limit_error"),
    "insufficient_quota": (429, "rate_limit_error"),
    "resource_exhausted": (429, "rate_limit_error"),
    "overloaded_error": (529, "overloaded_error"),
    "unavailable": (529, "overloaded_error"),
    "deadline_exceeded": (504, "timeout_error"),
    "internal": (500, "api_error"),
}

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

_SECRETS = (
    (re.compile(r"sk-[A-Za-z0-9_\-]{6,}"), "sk-***"),
    (re.compile(r"AIza[0-9A-Za-z_\-]{20,}"), "AIza***"),
    (re.compile(r"(?i)\bbearer\s+[^\s\"'<>,;]+"), "Bearer ***"),
    (
        re.compile(r"(?i)\b((?:[a-z]+[_-])*(?:key|token|secret|password|signature))(\s*[=:]\s*[\"']?)[^\s&\"'<>,;]+"),
        r"\1\2***",
    ),
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_CONTEXT_HINTS = ("context_length_exceeded", "string_above_max_length")
_CONTEXT_WORDS = re.compile(
    r"(?i)maximum context length|context window|context length|prompt is too long|too many tokens|input token count"
)
_CONTEXT_NUMBERS = (
    # OpenAI / vLLM: "maximum context length is 128000 tokens. However, your messages resulted in 130532 tokens"
    re.compile(r"(?is)maximum context length is (\d+).*?(?:resulted in|requested|\() ?(\d+)"),
    # Gemini: "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)"
    re.compile(r"(?is)input token count \(?(\d+)\)? exceeds the maximum number of tokens allowed \(?(\d+)"),
)


def redact(text: str) -> str:
    """`text` with anything that looks like a key (sk-..., AIza..., Bearer ..., key=...) replaced."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def snippet(body: bytes, limit: int = SNIPPET_BYTES) -> str:
    """At most `limit` bytes of `body` as one line of text, credentials redacted (before the cut, so a
    key straddling it is still caught), control characters and runs of whitespace collapsed."""
    text = redact(body[: limit * 8].decode("utf-8", "replace"))
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text.encode()[:limit].decode("utf-8", "ignore")


def error_body(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


def status_for_error_type(error_type: str) -> int:
    """The HTTP status that goes with an Anthropic error type (e.g. a first-event `error` in a stream)."""
    return STATUS_BY_ERROR_TYPE.get(error_type, 500)


def in_band_error_event(error_type: str, message: str) -> SSEEvent:
    """`event: error` for a failure after the stream started (never a fabricated `message_stop`)."""
    return SSEEvent(orjson.dumps(error_body(error_type, message)).decode(), "error")


def anthropic_error_from_upstream(status: int, body: bytes, content_type: str | None) -> tuple[int, dict[str, Any]]:
    """(status, Anthropic error body) for an upstream error answer of any provider."""
    stripped = body.strip()
    if stripped[:1] in (b"{", b"["):
        try:
            payload = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            payload = None
        found = anthropic_error_from_json(status, payload)
        if found is not None:
            return found
    out_status, kind = _BY_STATUS[status] if status in _GARBAGE_KEEPS else (502, "api_error")
    what = f" ({content_type.split(';')[0].strip()})" if content_type else ""
    text = snippet(body)
    message = f"upstream answered HTTP {status}{what}" + (f": {text}" if text else " with an empty body")
    return out_status, error_body(kind, message)


def anthropic_error_from_json(status: int, payload: Any) -> tuple[int, dict[str, Any]] | None:
    """Same for an already parsed body (also OpenAI `data: {"error": ...}` stream chunks); None when
    `payload` is not a recognisable error."""
    if isinstance(payload, list) and len(payload) == 1:  # Gemini wraps stream errors in a list
        payload = payload[0]
    if not isinstance(payload, dict):
        return None
    error = payload.get("error")
    if payload.get("type") == "error" and isinstance(error, dict) and isinstance(error.get("type"), str):
        if status < 400:
            status = status_for_error_type(error["type"])
        return status, payload  # Anthropic's own: unchanged
    hints: list[str] = []
    if isinstance(error, dict):
        message = error.get("message")
        hints = [str(error[k]).lower() for k in ("code", "type", "status") if isinstance(error.get(k), str)]
    elif isinstance(error, str):
        message = error
    else:
        message = payload.get("message", payload.get("detail"))
    if message is None:
        return None
    if not isinstance(message, str):
        message = orjson.dumps(message).decode()
    message = redact(message)[:_MAX_MESSAGE] or f"upstream answered HTTP {status}"
    if any(h in _CONTEXT_HINTS for h in hints) or (status in (400, 413, 422) and _CONTEXT_WORDS.search(message)):
        return 400, error_body("invalid_request_error", _prompt_too_long(message))
    if status in _BY_STATUS:
        out_status, kind = _BY_STATUS[status]
    elif status >= 500:
        out_status, kind = status, "api_error"
    elif status >= 400:
        out_status, kind = status, "invalid_request_error"
    else:
        out_status, kind = next((_BY_HINT[h] for h in hints if h in _BY_HINT), (502, "api_error"))
    return out_status, error_body(kind, message)


def _prompt_too_long(message: str) -> str:
    """Anthropic's wording (`prompt is too long: N tokens > M maximum`), which clients react to by
    compacting; the upstream text follows."""
    for i, pattern in enumerate(_CONTEXT_NUMBERS):
        m = pattern.search(message)
        if m:
            limit, used = (m.group(1), m.group(2)) if i == 0 else (m.group(2), m.group(1))
            return f"prompt is too long: {used} tokens > {limit} maximum ({message})"
    if message.lower().startswith("prompt is too long"):
        return message
    return f"prompt is too long: {message}"
