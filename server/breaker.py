"""Target ejection (reliability U6): a target that keeps failing is skipped for a while, so requests go
straight to its fallbacks instead of paying its timeouts and retries each time.

After `threshold` consecutive failures (5xx, 529, connection errors, timeouts: never caller errors) the
target is ejected for `base` seconds, doubling on each new ejection up to `cap`; one success resets it.
The last remaining candidate is never skipped: a request is always tried somewhere. Per worker, in memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _TargetState:
    failures: int = 0
    ejections: int = 0
    until: float = 0.0


class Breaker:
    __slots__ = ("_clock", "_states", "base", "cap", "threshold")

    def __init__(
        self,
        threshold: int = 5,
        base: float = 30.0,
        cap: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.base = base
        self.cap = cap
        self._clock = clock
        self._states: dict[str, _TargetState] = {}

    def ejected(self, key: str) -> bool:
        state = self._states.get(key)
        return state is not None and state.until > self._clock()

    def success(self, key: str) -> None:
        if key in self._states:
            del self._states[key]

    def failure(self, key: str) -> None:
        state = self._states.setdefault(key, _TargetState())
        state.failures += 1
        if state.failures >= self.threshold:
            state.until = self._clock() + min(self.cap, self.base * (2**state.ejections))
            state.ejections += 1
            state.failures = 0

    def describe(self, key: str) -> dict[str, object]:
        """For /health: `closed` (counting failures) or `open` (skipped for `open_for_s` more seconds)."""
        state = self._states.get(key)
        if state is None:
            return {"circuit": "closed", "failures": 0}
        remaining = self.remaining(key)
        if remaining > 0:
            return {"circuit": "open", "failures": state.failures, "open_for_s": round(remaining, 1)}
        return {"circuit": "closed", "failures": state.failures}

    def remaining(self, key: str) -> float:
        state = self._states.get(key)
        return max(0.0, state.until - self._clock()) if state is not None else 0.0
