"""The small endpoints: count_tokens, models, health, root; and the table that mounts every route."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import orjson
from sanic import Request, Sanic
from sanic.response import HTTPResponse

from cc_proxy.engine.decide import Decision, decide
from cc_proxy.engine.errors import ProxyError
from cc_proxy.engine.snapshot import Snapshot
from cc_proxy.engine.wire.anthropic import build_count_tokens_request
from cc_proxy.server.auth import client_authorized
from cc_proxy.server.credentials import credential_headers
from cc_proxy.server.errors import JSON, error_response, new_request_id
from cc_proxy.server.handlers_messages import admit, client_headers, handle, messages
from cc_proxy.server.health import degraded_reasons, health_report
from cc_proxy.server.inbound import CHAT_DOOR, RESPONSES_DOOR
from cc_proxy.server.observe import endpoints as observe
from cc_proxy.server.observe.record import RequestRecord, describe
from cc_proxy.server.request_body import check_messages_request, parse_json_object
from cc_proxy.server.scrub import scrubber_for
from cc_proxy.server.settings import is_loopback
from cc_proxy.server.state import authorize, get_state, route_headers
from cc_proxy.server.upstream import (
    POOL_FULL,
    body_chunks,
    forwarded_response_headers,
    open_response,
    refuse_unsendable_headers,
)

log = logging.getLogger("cc_proxy")

MAX_COUNT_ANSWER = 1024 * 1024
MODEL_CREATED_AT = "2025-01-01T00:00:00Z"  # aliases have no creation date; a fixed one keeps answers stable
MODEL_CREATED = 1735689600  # the same instant as OpenAI's Unix seconds


async def count_tokens(request: Request) -> HTTPResponse:
    state = get_state(request)
    snapshot = state.holder.current
    request_id = new_request_id()
    decision: Decision | None = None
    started = time.perf_counter()
    record = RequestRecord(request_id, "count_tokens", time.time())
    state.recorder.started()
    try:
        admit(request, snapshot, state)
        body = parse_json_object(request.body)
        check_messages_request(body)
        headers = client_headers(request)
        decision = decide(snapshot, body, headers, state.estimator, fit_context=False)
        out_headers = route_headers(snapshot, decision, request_id)
        if snapshot.server.count_tokens == "upstream" and decision.target.provider.format == "anthropic":
            response = await _upstream_count(snapshot, decision, headers, out_headers, state.http())
            record.status = response.status
            return response
        tokens = decision.features.tokens
        record.status = 200
        return HTTPResponse(orjson.dumps({"input_tokens": tokens}), headers=out_headers, content_type=JSON)
    except ProxyError as err:
        record.status, record.error_type = err.status, err.error_type
        return error_response(err, route_headers(snapshot, decision, request_id))
    except BaseException:
        record.status, record.error_type = 499, "client_closed"
        raise
    finally:
        record.latency_s = time.perf_counter() - started
        if decision is not None:
            describe(record, decision)
        state.recorder.finish(record)


async def _upstream_count(
    snapshot: Snapshot,
    decision: Decision,
    headers: dict[str, str],
    out_headers: dict[str, str],
    client: httpx.AsyncClient,
) -> HTTPResponse:
    """The Anthropic-format target's own count endpoint: its answer (or error) passed through."""
    import httpx

    target = decision.target
    credentials = credential_headers(target.provider, headers, snapshot.server.auth_token)
    upstream_request = build_count_tokens_request(target, decision.request, headers)
    refuse_unsendable_headers(upstream_request.headers, credentials)
    try:
        response = await open_response(
            client, target.provider, upstream_request, credentials, connect_timeout=snapshot.server.connect_timeout
        )
    except httpx.PoolTimeout:  # the proxy's own pool is full (server/upstream.py), as in the exchange
        raise ProxyError(529, POOL_FULL, headers={"retry-after": "1"}) from None
    except httpx.HTTPError as exc:
        raise ProxyError(502, f"upstream {target.provider.name} count_tokens failed: {type(exc).__name__}") from None
    try:
        body = await _read_count_answer(response)
    except ValueError as exc:  # too large, decompressed past the cap, a coding the proxy does not decode
        raise ProxyError(502, f"upstream {target.provider.name} count_tokens {exc}") from None
    finally:
        await response.aclose()
    if response.status_code >= 300:  # an error passed through: without any secret it may echo
        body = scrubber_for(snapshot, headers).bytes(body)
    out_headers.update(forwarded_response_headers(response.headers))
    content_type = response.headers.get("content-type", JSON)
    return HTTPResponse(body, status=response.status_code, headers=out_headers, content_type=content_type)


async def _read_count_answer(response: httpx.Response) -> bytes:
    """A count (or its error) is a few bytes: read at most MAX_COUNT_ANSWER, decoded with a cap."""
    buf = bytearray()
    async for chunk in body_chunks(response, MAX_COUNT_ANSWER):
        buf += chunk
        if len(buf) > MAX_COUNT_ANSWER:
            raise ValueError(f"answer exceeds {MAX_COUNT_ANSWER} bytes")
    return bytes(buf)


def servable_aliases(snapshot: Snapshot) -> list[str]:
    """Model aliases a request can name and be served by: configured, and with a usable key."""
    return [alias for alias, model in snapshot.models.items() if model.provider.api_key.configured]


def openai_client(request: Request) -> bool:
    """Which SDK asks, by the headers each sends: the Anthropic SDKs (and Claude Code) always send
    `anthropic-version`, and authenticate with `x-api-key` unless told otherwise; the OpenAI SDKs send
    neither, authenticate with `Authorization: Bearer` and say `OpenAI/...` in their user agent. Anything
    else (curl with no headers) gets Anthropic's shape, as before OpenAI clients were served."""
    headers = request.headers
    if "anthropic-version" in headers or "x-api-key" in headers:
        return False
    agent = headers.get("user-agent", "")
    return headers.get("authorization", "")[:7].lower() == "bearer " or agent.startswith("OpenAI/")


def _model(snapshot: Snapshot, alias: str, openai: bool) -> dict[str, Any]:
    resolved = snapshot.models[alias]
    if openai:
        out: dict[str, Any] = {"id": alias, "object": "model", "created": MODEL_CREATED}
        out["owned_by"] = resolved.provider.name
        limits = (("context_window", resolved.context), ("max_output_tokens", resolved.max_tokens))
    else:
        out = {"type": "model", "id": alias, "display_name": alias, "created_at": MODEL_CREATED_AT}
        limits = (("max_input_tokens", resolved.context), ("max_tokens", resolved.max_tokens))
    out.update((key, value) for key, value in limits if value is not None)
    return out


async def models(request: Request) -> HTTPResponse:
    state = get_state(request)
    snapshot = state.holder.current
    request_id = new_request_id()
    headers = route_headers(snapshot, None, request_id)
    openai = openai_client(request)
    try:
        authorize(request, state, snapshot.server.auth_token)
    except ProxyError as err:
        return error_response(err, headers, CHAT_DOOR.error_body if openai else None)
    data = [_model(snapshot, alias, openai) for alias in servable_aliases(snapshot)]
    if openai:
        return HTTPResponse(orjson.dumps({"object": "list", "data": data}), headers=headers, content_type=JSON)
    page = {
        "data": data,
        "has_more": False,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }
    return HTTPResponse(orjson.dumps(page), headers=headers, content_type=JSON)


async def model(request: Request, model_id: str) -> HTTPResponse:
    """GET /v1/models/{id}: one servable alias, or 404 like the API."""
    state = get_state(request)
    snapshot = state.holder.current
    headers = route_headers(snapshot, None, new_request_id())
    openai = openai_client(request)
    try:
        authorize(request, state, snapshot.server.auth_token)
        if model_id not in servable_aliases(snapshot):
            raise ProxyError(404, f"model: {model_id[:200]}", should_retry=False)
    except ProxyError as err:
        return error_response(err, headers, CHAT_DOOR.error_body if openai else None)
    return HTTPResponse(orjson.dumps(_model(snapshot, model_id, openai)), headers=headers, content_type=JSON)


async def chat_completions(request: Request) -> None:
    await handle(request, CHAT_DOOR)


async def responses(request: Request) -> None:
    await handle(request, RESPONSES_DOOR)


async def health(request: Request) -> HTTPResponse:
    """Status for anyone (load balancers probe without a key); the details (config path, rule files,
    version, reload errors) only for a caller on loopback or presenting the proxy's token."""
    state = get_state(request)
    snapshot = state.holder.current
    headers = route_headers(snapshot, None, new_request_id())
    token = snapshot.server.auth_token
    if token and not is_loopback(request.ip or "") and not client_authorized(request.headers, token):
        headers["x-cc-proxy-config-version"] = "-"
        status = "degraded" if degraded_reasons(snapshot, state) else "ok"  # the word only, no reasons
        return HTTPResponse(orjson.dumps({"status": status}), headers=headers, content_type=JSON)
    body = health_report(state)  # server/health.py: one section per concern
    return HTTPResponse(orjson.dumps(body), headers=headers, content_type=JSON)


async def root(request: Request) -> HTTPResponse:
    snapshot = get_state(request).holder.current
    headers = route_headers(snapshot, None, new_request_id())
    body = b"" if request.method == "HEAD" else b"cc-proxy: Anthropic Messages API proxy\n"
    return HTTPResponse(body, headers=headers, content_type="text/plain; charset=utf-8")


def mount(app: Sanic[Any, Any], prefix: str) -> None:
    """Every route at the root, and again under `prefix` when one is configured."""
    prefixes = [""] if not prefix.strip("/") else ["", "/" + prefix.strip("/")]
    for base in prefixes:
        tag = base.strip("/").replace("/", "_") or "root"
        app.add_route(messages, f"{base}/v1/messages", methods=["POST"], name=f"messages_{tag}")
        app.add_route(chat_completions, f"{base}/v1/chat/completions", methods=["POST"], name=f"chat_{tag}")
        app.add_route(responses, f"{base}/v1/responses", methods=["POST"], name=f"responses_{tag}")
        app.add_route(count_tokens, f"{base}/v1/messages/count_tokens", methods=["POST"], name=f"count_{tag}")
        app.add_route(models, f"{base}/v1/models", methods=["GET"], name=f"models_{tag}")
        app.add_route(model, f"{base}/v1/models/<model_id:str>", methods=["GET"], name=f"model_{tag}")
        app.add_route(health, f"{base}/health", methods=["GET"], name=f"health_{tag}")
        app.add_route(root, base or "/", methods=["GET", "HEAD"], name=f"root_{tag}")
        app.add_route(observe.metrics, f"{base}/metrics", methods=["GET"], name=f"metrics_{tag}")
        app.add_route(observe.usage, f"{base}{observe.USAGE_PATH}", methods=["GET"], name=f"usage_{tag}")
        app.add_route(observe.live, f"{base}{observe.LIVE_PATH}", methods=["GET"], name=f"live_{tag}")
        app.add_route(observe.session, f"{base}{observe.SESSION_PATH}", methods=["GET"], name=f"session_{tag}")
        app.add_route(observe.dashboard, f"{base}{observe.DASHBOARD_PATH}", methods=["GET"], name=f"dashboard_{tag}")
