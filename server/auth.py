"""Optional client authentication: the proxy's own token as `x-api-key` or `authorization: Bearer`."""

from __future__ import annotations

import hmac
import time
from collections import deque
from collections.abc import Callable, Mapping


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


class FailedAuthLimiter:
    """After `limit` failed authentications from one address within `window` seconds, that address gets
    429 with retry-after until the window frees up (reliability X1); others are unaffected."""

    __slots__ = ("_clock", "_failures", "limit", "max_addresses", "window")

    def __init__(
        self,
        limit: int = 10,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_addresses: int = 10_000,
    ) -> None:
        self.limit = limit
        self.window = window
        self.max_addresses = max_addresses  # memory stays bounded under a spray of addresses
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def blocked_for(self, address: str) -> float:
        """Seconds until `address` may try again; 0 when it may now."""
        times = self._failures.get(address)
        if not times:
            return 0.0
        cutoff = self._clock() - self.window
        while times and times[0] <= cutoff:
            times.popleft()
        if not times:
            del self._failures[address]
            return 0.0
        return times[0] + self.window - self._clock() if len(times) >= self.limit else 0.0

    def failed(self, address: str) -> None:
        if address not in self._failures and len(self._failures) >= self.max_addresses:
            self._failures.pop(next(iter(self._failures)))  # forget the oldest address
        self._failures.setdefault(address, deque()).append(self._clock())
