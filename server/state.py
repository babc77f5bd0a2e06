"""Per-worker server state, hung on `app.ctx.state`: typed, created once, no module-level globals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.decide import Decision
from engine.snapshot import Snapshot
from server.holder import SnapshotHolder
from server.retry import RetryBudget

if TYPE_CHECKING:
    import httpx
    from sanic import Request

    from engine.tokens import TokenEstimator

MAX_HEADER_VALUE = 200


@dataclass(slots=True)
class ServerState:
    holder: SnapshotHolder
    estimator: TokenEstimator | None
    upstream_transport: str = "aiohttp"
    budget: RetryBudget = field(default_factory=RetryBudget)
    client: httpx.AsyncClient | None = None

    def http(self) -> httpx.AsyncClient:
        assert self.client is not None, "upstream client is created in before_server_start"
        return self.client


def get_state(request: Request) -> ServerState:
    state: ServerState = request.app.ctx.state
    return state


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
    target = decision.target
    upstream = target.upstream_model or decision.requested_model
    headers["x-cc-proxy-route"] = header_value(decision.route or "-")
    headers["x-cc-proxy-rule"] = header_value(decision.rule_id or "-")
    headers["x-cc-proxy-target"] = header_value(f"{target.provider.name}/{upstream}")
    return headers


