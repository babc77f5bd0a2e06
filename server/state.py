"""Per-worker server state, hung on `app.ctx.state`: typed, created once, no module-level globals."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cc_proxy.engine.decide import Decision
from cc_proxy.engine.errors import ProxyError
from cc_proxy.engine.snapshot import Snapshot
from cc_proxy.engine.wire.tool_repair import Validators
from cc_proxy.server.auth import FailedAuthLimiter, client_authorized
from cc_proxy.server.breaker import Breaker
from cc_proxy.server.holder import SnapshotHolder
from cc_proxy.server.key_pool import KeyPools
from cc_proxy.server.observe.record import PriceBook
from cc_proxy.server.observe.recorder import Recorder
from cc_proxy.server.retry import RetryBudget

if TYPE_CHECKING:
    import httpx
    from sanic import Request

    from cc_proxy.engine.tokens import TokenEstimator
    from cc_proxy.server.observe.metrics import Metrics
    from cc_proxy.server.observe.traces import TraceSink
    from cc_proxy.server.observe.usage_db import UsageWriter

MAX_HEADER_VALUE = 200


class EstimatorWarmup:
    """The estimator is cheap to create; its tiktoken encoder (~0.3 s, ~45 MB) loads on the first count
    (server/tokens.py). `background`: the configuration will need counts, so load it now in a thread
    while the server starts listening; otherwise it loads only if a request ever needs a count."""

    __slots__ = ("_value",)

    def __init__(
        self,
        build: Callable[[], TokenEstimator],
        *,
        background: bool = True,
        warm: Callable[[TokenEstimator], None] | None = None,
    ) -> None:
        self._value = build()
        if background and warm is not None:
            value = self._value

            def run() -> None:
                try:
                    warm(value)
                except Exception:  # the first request that needs a count builds it again and reports
                    return

            threading.Thread(target=run, name="cc-proxy-tokenizer", daemon=True).start()

    def get(self) -> TokenEstimator:
        return self._value


@dataclass(slots=True)
class ServerState:
    holder: SnapshotHolder
    warmup: EstimatorWarmup | None = None
    upstream_transport: str = "aiohttp"
    budget: RetryBudget = field(default_factory=RetryBudget)
    breaker: Breaker | None = field(default_factory=Breaker)
    auth_failures: FailedAuthLimiter = field(default_factory=FailedAuthLimiter)
    pools: KeyPools = field(default_factory=KeyPools)
    validators: Validators = field(default_factory=Validators)  # tool-call repair, one per schema
    tool_repairs: int = 0  # tool calls repaired since start
    client: httpx.AsyncClient | None = None
    recorder: Recorder = field(default_factory=Recorder)
    prices: PriceBook = field(default_factory=PriceBook)
    metrics: Metrics | None = None
    usage: UsageWriter | None = None  # the usage history's writer, None when off
    traces: TraceSink | None = None  # OpenTelemetry spans, None when off

    @property
    def estimator(self) -> TokenEstimator | None:
        return self.warmup.get() if self.warmup is not None else None

    def http(self) -> httpx.AsyncClient:
        assert self.client is not None, "upstream client is created in before_server_start"
        return self.client


def get_state(request: Request) -> ServerState:
    state: ServerState = request.app.ctx.state
    return state


def authorize(request: Request, state: ServerState, token: str | None) -> None:
    """Raise 401 for a wrong or missing proxy token, 429 once an address keeps failing (X1)."""
    if not token:
        return
    address = request.ip or "?"
    wait = state.auth_failures.blocked_for(address)
    if wait > 0:
        raise ProxyError(429, "too many failed authentications", headers={"retry-after": str(math.ceil(wait))})
    if not client_authorized(request.headers, token):
        state.auth_failures.failed(address)
        raise ProxyError(401, "invalid x-api-key or authorization bearer token for this proxy", should_retry=False)


def header_value(value: str) -> str:
    """Client-chosen text (a model name) made safe for a header: printable ASCII, bounded."""
    if value.isascii() and value.isprintable() and len(value) <= MAX_HEADER_VALUE:
        return value
    safe = "".join(c if " " <= c <= "~" else "?" for c in value[:MAX_HEADER_VALUE])
    return safe


def route_headers(snapshot: Snapshot, decision: Decision | None, request_id: str) -> dict[str, str]:
    """`x-cc-proxy-*` on every response: which route, rule and target served it, under which config."""
    headers = {"request-id": request_id, "x-cc-proxy-config-version": snapshot.version}
    if decision is None:
        headers.update({"x-cc-proxy-route": "-", "x-cc-proxy-rule": "-", "x-cc-proxy-target": "-"})
        return headers
    headers["x-cc-proxy-route"] = header_value(decision.route or "-")
    headers["x-cc-proxy-rule"] = header_value(decision.rule_id or "-")
    headers["x-cc-proxy-target"] = header_value(target_name(decision))
    return headers


def target_name(decision: Decision) -> str:
    """`provider/upstream-model`: what a target is called in headers and log lines alike."""
    return f"{decision.target.provider.name}/{decision.target.upstream_model or decision.requested_model}"


