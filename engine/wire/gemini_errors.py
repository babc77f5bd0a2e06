"""What a Gemini error body says beyond its status: how long to wait (`google.rpc.RetryInfo`).

Gemini answers a 429 (RESOURCE_EXHAUSTED) without a `Retry-After` header; the wait is in the body:
`{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "details": [{"@type":
"type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "53s"}]}}`, a protobuf Duration in JSON
(decimal seconds, up to nine fractional digits, then "s"). The status and message themselves map like
any provider's (engine.wire.errors).
"""

from __future__ import annotations

import re
from typing import Any

import orjson

RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_DURATION = re.compile(r"^(\d+(?:\.\d{1,9})?)s$")


def retry_after(body: bytes) -> float | None:
    """Seconds from the body's RetryInfo; None when there is none or it does not parse."""
    if b"RetryInfo" not in body:
        return None
    try:
        payload: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if isinstance(payload, list) and len(payload) == 1:
        payload = payload[0]
    error = payload.get("error") if isinstance(payload, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else ():
        if isinstance(detail, dict) and detail.get("@type") == RETRY_INFO:
            delay = detail.get("retryDelay")
            match = _DURATION.match(delay) if isinstance(delay, str) else None
            if match:
                return float(match.group(1))
    return None
