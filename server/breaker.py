"""Target ejection (reliability U6): a target that keeps failing is skipped for a while, so requests go
straight to its fallbacks instead of paying its timeouts and retries each time.

After `threshold` consecutive failures (5xx, 529, connection errors, timeouts: never caller errors) the
target is ejected (open) for `base` seconds, doubling on each new ejection up to `cap`. When that time
is up the target is half-open: one request (the probe) is let through while the others still go to
the fallbacks; the probe's success closes it, its failure ejects it again at once for the doubled time.
A probe that never reports (its client went away) is replaced after `base` seconds. The last remaining
candidate is never skipped: a request is always tried somewhere. Per worker, in memory.
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
    probe_since: float | None = None  # a probe is out since then (half-open)


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
        """Open, or half-open with its probe out: skip it while a fallback remains."""
        state = self._states.get(key)
        if state is None:
            return False
        now = self._clock()
        return state.until > now or self._probe_out(state, now)

    def admit(self, key: str) -> bool:
        """Whether this request may try the target; the first one after an ejection ends is the probe."""
        state = self._states.get(key)
        if state is None or state.ejections == 0:
            return True
        now = self._clock()
        if state.until > now or self._probe_out(state, now):
            return False
        state.probe_since = now
        return True

    def _probe_out(self, state: _TargetState, now: float) -> bool:
        return state.probe_since is not None and now - state.probe_since < self.base

    def success(self, key: str) -> None:
        if key in self._states:
            del self._states[key]

    def failure(self, key: str) -> None:
        state = self._states.setdefault(key, _TargetState())
        state.failures += 1
        if state.failures >= self.threshold or state.probe_since is not None:
            self._eject(state)

    def settled(self, key: str) -> None:
        """The probe ended with neither verdict (a caller error, a 429): the next request probes."""
        state = self._states.get(key)
        if state is not None:
            state.probe_since = None

    def _eject(self, state: _TargetState) -> None:
        state.until = self._clock() + min(self.cap, self.base * (2**state.ejections))
        state.ejections += 1
        state.failures = 0
        state.probe_since = None

    def describe(self, key: str) -> dict[str, object]:
        """For /health and `status`: `closed` (counting failures), `open` (skipped for `open_for_s`
        more seconds) or `half-open` (`probing`: whether its one probe request is out)."""
        state = self._states.get(key)
        if state is None:
            return {"circuit": "closed", "failures": 0}
        now = self._clock()
        if state.until > now:
            return {"circuit": "open", "failures": state.failures, "open_for_s": round(state.until - now, 1)}
        if state.ejections:
            return {"circuit": "half-open", "probing": self._probe_out(state, now), "ejections": state.ejections}
        return {"circuit": "closed", "failures": state.failures}

    def remaining(self, key: str) -> float:
        state = self._states.get(key)
        return max(0.0, state.until - self._clock()) if state is not None else 0.0
