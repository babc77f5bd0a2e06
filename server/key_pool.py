"""Several keys for one provider: which key a request carries, so prompt caches keep hitting.

A session (Claude Code's `x-claude-code-session-id`) sticks to one key while that key is healthy: a
provider's prompt cache is per key (per organisation), so a broken pin halves cache hits. New sessions
go to the key with the fewest requests in flight (then the fewest sessions pinned, then the first).
A 429 rests the key for its `retry-after` or a growing default (1 s, doubling, at most 60 s); a
401/403 takes it out of rotation until the configuration changes. Keys are named by their 1-based
position in `api_key`, never by value. Per worker, in memory; state follows a key's value, so a
reload that changes the key at a position starts it afresh.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cc_proxy.engine.snapshot import ApiKey, ResolvedProvider
from cc_proxy.server.logging_setup import log_event
from cc_proxy.server.retry import retry_after_seconds

log = logging.getLogger("cc_proxy")

SESSION_HEADER = "x-claude-code-session-id"
DEFAULT_REST = 1.0  # seconds a key rests after a 429 without retry-after, doubling each time in a row
MAX_REST = 60.0
MAX_PINS = 10_000  # sessions remembered per worker; the least recently used pin is forgotten first


@dataclass(slots=True)
class _KeyState:
    fingerprint: int  # hash of the key's value (in memory only): a changed key starts afresh
    in_flight: int = 0
    sessions: int = 0
    rest_until: float = 0.0
    limited_in_a_row: int = 0
    removed: bool = False


@dataclass(frozen=True, slots=True)
class Pick:
    key: ApiKey
    ready: bool  # False: every remaining key is resting; this one rests the shortest


def pooled(provider: ResolvedProvider) -> bool:
    """Only configured keys are pooled, and only when there are several (`forward` never is)."""
    return len(provider.keys) > 1


class KeyPools:
    __slots__ = ("_clock", "_keys", "_pins")

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._keys: dict[tuple[str, int], _KeyState] = {}
        self._pins: OrderedDict[tuple[str, str], int] = OrderedDict()

    def _state(self, provider: str, key: ApiKey) -> _KeyState:
        fingerprint = hash(key.value)
        state = self._keys.get((provider, key.position))
        if state is None or state.fingerprint != fingerprint:
            state = self._keys[(provider, key.position)] = _KeyState(fingerprint)
        return state

    def acquire(self, provider: ResolvedProvider, session: str | None, exclude: Iterable[int] = ()) -> Pick | None:
        """A key for one attempt (counted in flight until `release`), or None when every key is
        removed or excluded. The session is pinned to the key it gets while that key is healthy."""
        now = self._clock()
        skip = set(exclude)
        candidates = [
            (key, state)
            for key in provider.keys
            if key.position not in skip and not (state := self._state(provider.name, key)).removed
        ]
        if not candidates:
            return None
        healthy = [(key, state) for key, state in candidates if state.rest_until <= now]
        pin = (provider.name, session) if session else None
        if not healthy:
            key, state = min(candidates, key=lambda c: c[1].rest_until)
            state.in_flight += 1
            return Pick(key, False)
        chosen: tuple[ApiKey, _KeyState] | None = None
        if pin is not None and (position := self._pins.get(pin)) is not None:
            chosen = next((c for c in healthy if c[0].position == position), None)
            if chosen is not None:
                self._pins.move_to_end(pin)
        if chosen is None:
            chosen = min(healthy, key=lambda c: (c[1].in_flight, c[1].sessions, c[0].position))
            if pin is not None:
                self._pin(pin, provider, chosen[0].position)
        key, state = chosen
        state.in_flight += 1
        return Pick(key, True)

    def _pin(self, pin: tuple[str, str], provider: ResolvedProvider, position: int) -> None:
        old = self._pins.pop(pin, None)
        if old is not None:
            self._adjust_sessions(pin[0], old, -1)
        self._pins[pin] = position
        self._adjust_sessions(pin[0], position, +1)
        if len(self._pins) > MAX_PINS:
            (evicted_provider, _), evicted = self._pins.popitem(last=False)
            self._adjust_sessions(evicted_provider, evicted, -1)

    def _adjust_sessions(self, provider: str, position: int, by: int) -> None:
        state = self._keys.get((provider, position))
        if state is not None:
            state.sessions = max(0, state.sessions + by)

    def release(self, provider: ResolvedProvider, key: ApiKey) -> None:
        state = self._keys.get((provider.name, key.position))
        if state is not None:
            state.in_flight = max(0, state.in_flight - 1)

    def succeeded(self, provider: ResolvedProvider, key: ApiKey) -> None:
        state = self._keys.get((provider.name, key.position))
        if state is not None:
            state.limited_in_a_row = 0

    def rate_limited(self, provider: ResolvedProvider, key: ApiKey, retry_after: float | None) -> float:
        """Rest the key; returns how long (seconds)."""
        state = self._state(provider.name, key)
        rest = retry_after if retry_after is not None else DEFAULT_REST * (2**state.limited_in_a_row)
        rest = min(MAX_REST, rest)
        state.limited_in_a_row += 1
        state.rest_until = max(state.rest_until, self._clock() + rest)
        return rest

    def rejected(self, provider: ResolvedProvider, key: ApiKey) -> bool:
        """Take the key out of rotation; True the first time (the caller logs it once)."""
        state = self._state(provider.name, key)
        first = not state.removed
        state.removed = True
        return first

    def report(self, providers: Iterable[ResolvedProvider]) -> dict[str, list[dict[str, Any]]]:
        """Each pooled provider's keys by position: state, requests in flight, sessions pinned."""
        now = self._clock()
        out: dict[str, list[dict[str, Any]]] = {}
        for provider in providers:
            if not pooled(provider):
                continue
            rows: list[dict[str, Any]] = []
            for key in provider.keys:
                state = self._state(provider.name, key)
                row: dict[str, Any] = {"key": key.position, "in_flight": state.in_flight, "sessions": state.sessions}
                if state.removed:
                    row["state"] = "removed"
                elif state.rest_until > now:
                    row["state"] = "resting"
                    row["rest_s"] = round(state.rest_until - now, 3)
                else:
                    row["state"] = "ok"
                rows.append(row)
            out[provider.name] = rows
        return out


class KeyLease:
    """One request's key from one provider's pool, from its first attempt until `release`: counted in
    flight, moved to another key when the one in use is at fault (429, 401/403)."""

    __slots__ = ("_pools", "_provider", "_session", "_tried", "key")

    def __init__(self, pools: KeyPools, provider: ResolvedProvider, session: str | None) -> None:
        self._pools = pools
        self._provider = provider
        self._session = session
        self._tried: set[int] = set()  # positions that failed this request
        self.key: ApiKey | None = None
        self.renew()

    def renew(self) -> None:
        """The best key now (after a wait: the one that rests the shortest, maybe the same one)."""
        self._tried.clear()
        pick = self._pools.acquire(self._provider, self._session)
        self._hold(pick.key if pick is not None else None)

    def moved_on(self, upstream_status: int, headers: Mapping[str, str]) -> bool:
        """After a failed attempt: True when the key was at fault and another one is ready now, which
        the next attempt uses at once (no wait, no retry counted: the provider did not fail)."""
        key = self.key
        if key is None or not self._fault(key, upstream_status, headers):
            return False
        self._tried.add(key.position)
        pick = self._pools.acquire(self._provider, self._session, self._tried)
        if pick is None:
            return False
        if not pick.ready:  # every other key rests too: the usual retry or fallback decides
            self._pools.release(self._provider, pick.key)
            return False
        self._hold(pick.key)
        return True

    def _fault(self, key: ApiKey, status: int, headers: Mapping[str, str]) -> bool:
        provider = self._provider
        if status == 429:
            self._pools.rate_limited(provider, key, retry_after_seconds(dict(headers)))
            return True
        if status in (401, 403):
            if self._pools.rejected(provider, key):
                log_event(log, logging.WARNING, "key_removed", provider=provider.name, key=key.position, status=status)
            return True
        return False

    def succeeded(self) -> None:
        if self.key is not None:
            self._pools.succeeded(self._provider, self.key)

    def _hold(self, key: ApiKey | None) -> None:
        self.release()
        self.key = key

    def release(self) -> None:
        if self.key is not None:
            self._pools.release(self._provider, self.key)
            self.key = None
