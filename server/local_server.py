"""How a command talks to the cc-proxy it found (server/instance.py): its /health, with the proxy's
token when the config has one. Standard library only: these commands start in a few milliseconds."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from cc_proxy.server.instance import Instance

HEALTH_TIMEOUT = 5.0


def fetch_health(
    instance: Instance, token: str | None = None, timeout: float = HEALTH_TIMEOUT
) -> dict[str, Any] | None:
    """The server's /health object, or None when it does not answer one."""
    request = urllib.request.Request(instance.url + "/health")
    if token:
        request.add_header("x-api-key", token)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via $http_proxy
    try:
        with opener.open(request, timeout=timeout) as response:
            body = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def wait_healthy(instance: Instance, token: str | None, timeout: float) -> dict[str, Any] | None:
    """Poll /health until it answers (a server publishes its PID file once it listens: usually at once)."""
    deadline = time.monotonic() + timeout
    while True:
        health = fetch_health(instance, token, timeout=max(0.1, min(HEALTH_TIMEOUT, deadline - time.monotonic())))
        if health is not None or time.monotonic() >= deadline:
            return health
        time.sleep(0.02)
