"""The proxy's own observability endpoints. They follow the API's access rule: with
server.auth_token set, the same token (x-api-key or Bearer) is required.

- `GET /metrics`: Prometheus text (server/observe/metrics.py)
- `GET /cc-proxy/usage?since=24h&by=model`: the usage history summed, as `cc-proxy usage --json`
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
