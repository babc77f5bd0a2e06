"""When the proxy retries an upstream attempt, and how long it waits: a table and two functions.

An attempt is one request sent to an upstream. Retries happen only before the first byte reaches the client,
at most `retry_max` (config `retries.max`) after a target's first attempt, then the route's fallbacks. Caller
errors (400/401/403/404/413) are never retried.
"""

from __future__ import annotations

import email.utils
import random
import time

from cc_proxy.engine.snapshot import ServerSettings

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 529})
# A longer retry-after is the client's business: pass it through (Claude Code stops retrying past 60 s).
MAX_PROXY_WAIT = 60.0


def retry_after_seconds(headers: dict[str, str], now: float | None = None) -> float | None:
    """`retry-after-ms`, `retry-after` as seconds or an HTTP-date; None when absent or unreadable."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retry_delay(
    status: int, headers: dict[str, str], attempt: int, settings: ServerSettings, *, backoff_429: bool = False
) -> float | None:
    """Seconds to wait before retrying after `status` on attempt `attempt` (0-based), or None: do not.
    `backoff_429`: the provider's profile says a 429 without retry-after is a brief burst."""
    if status not in RETRYABLE_STATUSES:
        return None
    after = retry_after_seconds(headers)
    if after is not None and after > MAX_PROXY_WAIT:
        return None
    if status == 429 and after is None and not backoff_429:
        return None  # a spend limit or quota: retrying cannot help (reliability U3)
    jitter = backoff(attempt, settings)
    return max(jitter, after) if after is not None else jitter


def backoff(attempt: int, settings: ServerSettings) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
    return random.uniform(0.0, min(settings.retry_cap, settings.retry_base * (2**attempt)))


class RetryBudget:
    """Two limits on retries (reliability U6). Concurrency: retries in flight may not exceed 20% of
    requests in flight (floor 3), so a burst cannot turn into a retry storm. Recent outcomes: once a
    target's last `streak_limit` attempts all failed, it gets no more retries until an attempt to it
    succeeds (0: no such limit); each client request still makes its first attempt, which is the probe. A dead provider
    then costs about one attempt per client request, while a single transient failure is retried."""

    __slots__ = ("_streaks", "in_flight", "retrying", "streak_limit")

    def __init__(self, streak_limit: int = 3) -> None:
        self.in_flight = 0
        self.retrying = 0
        self.streak_limit = streak_limit
        self._streaks: dict[str, int] = {}  # target -> consecutive failed attempts (absent: last one succeeded)

    def allows(self, target: str) -> bool:
        if self.streak_limit and self._streaks.get(target, 0) >= self.streak_limit:
            return False
        return self.retrying < max(3, self.in_flight // 5)

    def succeeded(self, target: str) -> None:
        if target in self._streaks:
            del self._streaks[target]

    def failed(self, target: str) -> None:
        self._streaks[target] = self._streaks.get(target, 0) + 1
