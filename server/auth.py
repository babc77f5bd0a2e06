"""Optional client authentication: the proxy's own token as `x-api-key` or `authorization: Bearer`."""

from __future__ import annotations

import hmac
from collections.abc import Mapping


def presented_keys(headers: Mapping[str, str]) -> list[str]:
    keys = []
    api_key = headers.get("x-api-key")
    if api_key:
        keys.append(api_key)
    authorization = headers.get("authorization", "")
    if authorization[:7].lower() == "bearer ":
        keys.append(authorization[7:].strip())
    return keys


def client_authorized(headers: Mapping[str, str], token: str | None) -> bool:
    """True when no token is configured or one of the presented keys equals it (constant time)."""
    if not token:
        return True
    expected = token.encode()
    # Compare every presented key (no early exit on the first) so timing says nothing either way.
    ok = False
    for key in presented_keys(headers):
        ok |= hmac.compare_digest(key.encode(), expected)
    return ok
