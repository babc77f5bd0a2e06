"""Metrics across `serve --workers N`: prometheus-client's multiprocess mode, chosen by the
PROMETHEUS_MULTIPROC_DIR variable, which must be set before prometheus_client is first imported."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable

ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare(workers: int) -> Callable[[], None]:
    """Before the app is built: with several workers, a fresh private directory for their metric files
    (one set per run: counters start at zero, as a single process's do). An operator's own
    PROMETHEUS_MULTIPROC_DIR is used as is. Returns the clean-up to run once the server has stopped."""
    if workers <= 1 or os.environ.get(ENV):
        return lambda: None
    if "prometheus_client" in sys.modules:  # too late: its value class is already chosen
        raise RuntimeError("prometheus_client was imported before the metrics directory was set")
    path = tempfile.mkdtemp(prefix="cc-proxy-metrics-")
    os.environ[ENV] = path

    def cleanup() -> None:
        shutil.rmtree(path, ignore_errors=True)

    return cleanup

