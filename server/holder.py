"""The one mutable thing the server has: the snapshot in use, swapped by a single assignment.

Handlers read `holder.current` once per request and keep that object for the whole exchange, so a
reload never changes a request half-way (streams included).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from cc_proxy.engine.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class ReloadError:
    at: float  # wall-clock time of the failed attempt
    problems: tuple[str, ...]  # rendered `file:line:col: code: message (at $.path)` lines


class SnapshotHolder:
    __slots__ = ("current", "last_error", "loaded_at", "rejected", "reloads", "started_at", "watch_paths")

    def __init__(self, snapshot: Snapshot, watch_paths: tuple[str, ...] = ()) -> None:
        self.current = snapshot
        self.watch_paths = watch_paths
        self.started_at = time.monotonic()
        self.loaded_at = time.time()
        self.last_error: ReloadError | None = None
        self.reloads = 0
        self.rejected = 0

    def swap(self, snapshot: Snapshot, watch_paths: tuple[str, ...]) -> None:
        self.watch_paths = watch_paths
        self.loaded_at = time.time()
        self.last_error = None
        self.reloads += 1
        self.current = snapshot  # last: one assignment makes the new config live

    def reject(self, problems: tuple[str, ...]) -> None:
        self.rejected += 1
        self.last_error = ReloadError(at=time.time(), problems=problems)

    def uptime(self) -> float:
        return time.monotonic() - self.started_at
