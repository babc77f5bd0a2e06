"""The proxy's own observability endpoints. They follow the API's access rule: with
server.auth_token set, the same token (x-api-key or Bearer) is required.

- `GET /metrics`: Prometheus text (server/observe/metrics.py)
- `GET /cc-proxy/usage?since=24h&by=model`: the usage history summed, as `cc-proxy usage --json`
- `GET /cc-proxy/session/<id>`: one Claude Code session's last request and totals (`cc-proxy statusline`)
- `GET /cc-proxy/live`: what the dashboard draws (server/observe/live.py) and this worker's state
- `GET /dashboard`: the dashboard page itself. It is static (no figures in it), so it is served to
  anyone; the figures come from /cc-proxy/live, which asks for the token like every other endpoint.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
from sanic import Request
from sanic.response import HTTPResponse

from cc_proxy.engine.errors import ProxyError
from cc_proxy.server.errors import JSON, error_response, new_request_id
from cc_proxy.server.observe.metrics import CONTENT_TYPE
from cc_proxy.server.state import ServerState, authorize, get_state, route_headers

USAGE_PATH = "/cc-proxy/usage"
LIVE_PATH = "/cc-proxy/live"
SESSION_PATH = "/cc-proxy/session/<session_id:str>"
MAX_SESSION_ID = 200
DASHBOARD_PATH = "/dashboard"


def _allowed(request: Request, state: ServerState) -> HTTPResponse | None:
    """None when the caller may read; else the API's own 401/429 answer."""
    snapshot = state.holder.current
    try:
        authorize(request, state, snapshot.server.auth_token)
    except ProxyError as err:
        return error_response(err, route_headers(snapshot, None, new_request_id()))
    return None


async def metrics(request: Request) -> HTTPResponse:
    state = get_state(request)
    refused = _allowed(request, state)
    if refused is not None:
        return refused
    if state.metrics is None:
        headers = route_headers(state.holder.current, None, new_request_id())
        return error_response(ProxyError(404, "metrics are off"), headers)
    # Off the event loop: in multiprocess mode a scrape reads every worker's files.
    body = await asyncio.get_running_loop().run_in_executor(None, state.metrics.render)
    return HTTPResponse(body, content_type=CONTENT_TYPE)


async def usage(request: Request) -> HTTPResponse:
    from cc_proxy.server.observe.usage_query import UsageQueryError, parse_since, summary

    state = get_state(request)
    refused = _allowed(request, state)
    if refused is not None:
        return refused
    headers = route_headers(state.holder.current, None, new_request_id())
    writer = state.usage
    if writer is None:
        return error_response(ProxyError(404, "the usage history is off (server.usage.enabled)"), headers)
    args = request.args
    try:
        since = parse_since(args.get("since", "24h"))
        by = args.get("by", "model")
        path: Path = writer.path
        report = await asyncio.get_running_loop().run_in_executor(None, summary, path, since, by)
    except UsageQueryError as exc:
        return error_response(ProxyError(400, str(exc).replace("--", "")), headers)
    return HTTPResponse(orjson.dumps(report), headers=headers, content_type=JSON)


async def live(request: Request) -> HTTPResponse:
    from cc_proxy.server.observe.live import history

    state = get_state(request)
    refused = _allowed(request, state)
    if refused is not None:
        return refused
    holder = state.holder
    snapshot = holder.current
    writer = state.usage
    if writer is not None:
        body = await asyncio.get_running_loop().run_in_executor(None, history, writer.path)
    else:
        body = {"series": [], "by_model": [], "by_route": [], "recent": [], "requests": 0}
    body["usage_history"] = writer is not None
    breaker = state.breaker
    body["circuits"] = [
        {
            "provider": model.provider.name,
            "model": alias,
            "open": breaker is not None and breaker.ejected(alias),
            "reopens_in_s": round(breaker.remaining(alias), 1) if breaker is not None else 0.0,
        }
        for alias, model in snapshot.models.items()
    ]
    error = holder.last_error
    body["reload"] = {
        "config_version": snapshot.version,
        "reloads": holder.reloads,
        "rejected": holder.rejected,
        "result": "rejected" if error is not None else "ok",
        "problems": list(error.problems) if error is not None else [],
    }
    body["in_flight"] = state.budget.in_flight
    return HTTPResponse(orjson.dumps(body), headers=route_headers(snapshot, None, new_request_id()), content_type=JSON)


async def dashboard(request: Request) -> HTTPResponse:
    from importlib.resources import files

    page = files("cc_proxy.server.observe").joinpath("dashboard.html").read_bytes()
    headers = {
        # everything is inline: nothing may be loaded from elsewhere
        "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self' data:",
        "cache-control": "no-store",
    }
    return HTTPResponse(page, headers=headers, content_type="text/html; charset=utf-8")


async def session(request: Request, session_id: str) -> HTTPResponse:
    from cc_proxy.server.observe.usage_query import session_summary

    state = get_state(request)
    refused = _allowed(request, state)
    if refused is not None:
        return refused
    headers = route_headers(state.holder.current, None, new_request_id())
    writer = state.usage
    if writer is None:
        return error_response(ProxyError(404, "the usage history is off (server.usage.enabled)"), headers)
    if len(session_id) > MAX_SESSION_ID:
        return error_response(ProxyError(400, "session id too long"), headers)
    loop = asyncio.get_running_loop()
    body = await loop.run_in_executor(None, session_summary, writer.path, session_id)
    return HTTPResponse(orjson.dumps(body), headers=headers, content_type=JSON)
