"""POST /v1/messages: parse, decide, exchange with the upstream, answer or relay the stream.

The snapshot is read once; the decision, the attempts and the whole stream use that one object.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import traceback
from typing import Any, cast

import orjson
from sanic import Request
from sanic.response import HTTPResponse

from cc_proxy.engine.decide import Decision, decide
from cc_proxy.engine.errors import ERROR_TYPE_BY_STATUS, ProxyError
from cc_proxy.engine.inbound.native_stream import NativeStream
from cc_proxy.engine.inbound.native_usage import answer_usage
from cc_proxy.engine.inbound.native_usage import stream_usage as native_stream_usage
from cc_proxy.engine.snapshot import Snapshot
from cc_proxy.server.errors import JSON, new_request_id
from cc_proxy.server.errors import error_response as anthropic_error_response
from cc_proxy.server.exchange import Committed, Exchange, hook_context, run
from cc_proxy.server.hooks import event_transform
from cc_proxy.server.inbound import ANTHROPIC_DOOR, FrontDoor, RenderedStream
from cc_proxy.server.key_pool import SESSION_HEADER
from cc_proxy.server.logging_setup import log_event
from cc_proxy.server.observe.record import RequestRecord, client_family, clip, describe, log_fields
from cc_proxy.server.observe.usage_tap import message_usage, noted, stream_usage
from cc_proxy.server.relay import StreamOutcome, relay
from cc_proxy.server.request_body import parse_json_object
from cc_proxy.server.state import ServerState, authorize, get_state, header_value, route_headers, target_name

log = logging.getLogger("cc_proxy")
ERROR_TYPES = frozenset(ERROR_TYPE_BY_STATUS.values())  # a bounded label set: anything else is api_error

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}
STREAM_ERROR = "stream_error"  # a stream that ended early after its first byte
CLIENT_CLOSED = "client_closed"  # the client went away (499)


def error_type_of(body: bytes) -> str:
    """The Anthropic error type of an error body the proxy is about to send (small: parsed at once)."""
    try:
        error = orjson.loads(body).get("error")
        kind = error.get("type") if isinstance(error, dict) else None
    except (orjson.JSONDecodeError, AttributeError):
        kind = None
    return kind if isinstance(kind, str) and kind in ERROR_TYPES else "api_error"


def client_headers(request: Request) -> dict[str, str]:
    return {name.lower(): value for name, value in request.headers.items()}


def admit(request: Request, snapshot: Snapshot, state: ServerState) -> None:
    """Checks before the body is parsed: client auth, body size, in-flight limit."""
    settings = snapshot.server
    authorize(request, state, settings.auth_token)
    if len(request.body) > settings.max_body:
        raise ProxyError(413, f"request body exceeds {settings.max_body} bytes", should_retry=False)
    if state.budget.in_flight > settings.max_in_flight:  # this request is already counted
        raise ProxyError(529, "proxy overloaded: too many requests in flight", headers={"retry-after": "1"})


async def messages(request: Request) -> None:
    await handle(request, ANTHROPIC_DOOR)


async def handle(request: Request, door: FrontDoor) -> None:
    """One client request through `door` (server/inbound.py): open, decide, exchange, answer or relay."""
    state = get_state(request)
    snapshot = state.holder.current  # once: this request lives on this snapshot
    request_id = new_request_id()
    started = time.perf_counter()
    decision: Decision | None = None
    state.budget.in_flight += 1
    state.recorder.started()
    fields: dict[str, Any] = {"request_id": request_id, "path": request.path, "config": snapshot.version}
    record = RequestRecord(request_id, door.endpoint, time.time())
    exchange: Exchange | None = None
    if door is not ANTHROPIC_DOOR:
        fields["inbound"] = door.name
    try:
        admit(request, snapshot, state)
        inbound = door.open(parse_json_object(request.body), request.body, int(time.time()))
        body = inbound.request
        stream = inbound.stream
        fields.update(model=body["model"], stream=stream)
        if inbound.dropped:
            fields["dropped"] = ",".join(inbound.dropped)[:500]
        record.stream = stream
        headers = client_headers(request)
        decision = decide(snapshot, body, headers, state.estimator, size=len(request.body))
        exchange = Exchange(
            snapshot,
            state.http(),
            headers,
            stream,
            state.budget,
            state.breaker,
            body_size=len(request.body),
            wires=inbound.wires,
            pools=state.pools,
            session=headers.get(SESSION_HEADER),
            validators=state.validators,
            request_id=request_id,
        )
        result = await run(exchange, decision)
        fields["attempts"] = exchange.attempts
        out_headers = route_headers(snapshot, result.decision, request_id)
        decision = _answered_by(record, decision, result.decision)
        out_headers["x-cc-proxy-attempts"] = str(exchange.attempts)
        if exchange.passed:  # served by a fallback: which targets were given up on, and why
            fields["passed_over"] = out_headers["x-cc-proxy-fallback"] = header_value(", ".join(exchange.passed))
        _describe(fields, result.decision)
        if not isinstance(result, Committed):
            out_headers.update(result.headers)
            fields["status"] = result.status
            record.error_type = error_type_of(result.body)
            error = door.error_body(result.body)
            await answer(request, HTTPResponse(error, result.status, out_headers, content_type=JSON))
            return None
        record.first_event_s = time.perf_counter() - started
        out_headers.update(result.headers)
        # Usage is read from the Anthropic form, or from OpenAI's for an answer already in the client's.
        target_format = result.decision.target.provider.format
        native = target_format == inbound.native_format
        # The response hook sees Anthropic answers: those the Anthropic door sends (docs: Python hooks).
        hooks = snapshot.hooks
        response_hook = hooks.response if hooks is not None and door is ANTHROPIC_DOOR and not native else None
        if result.adapter is None:
            await result.response.aclose()
            if response_hook is not None:  # raises HookFailed: answered below as a 500
                message = await response_hook(orjson.loads(result.held), hook_context(exchange, result.decision))
                result.held = orjson.dumps(message)
            fields["status"] = 200
            held = inbound.answer(result.held, target_format)
            await answer(request, HTTPResponse(held, 200, out_headers, content_type=JSON))
            if native:
                record.usage = answer_usage(result.held)
            else:
                record.usage, record.stop_reason = message_usage(result.held)
                record.usage = noted(record.usage, exchange.usage_note, result.held, state.estimator)
            return None
        out_headers.update(SSE_HEADERS)
        outcome = StreamOutcome()
        anthropic_held = result.held
        result.adapter, result.held, framing = inbound.stream_out(result.adapter, result.held, target_format)
        try:
            sink = await request.respond(status=200, headers=out_headers, content_type="text/event-stream")
            fields["status"] = 200
            # Sanic types the transport as a BaseTransport; it is the connection's full (uvloop) transport.
            transport = cast(asyncio.Transport, request.transport)
            transform = (
                event_transform(response_hook, hook_context(exchange, result.decision)) if response_hook else None
            )
            # also ends the response, or cuts the connection when the upstream broke mid-way
            relay_to = (sink, result, snapshot.server, transport.abort, outcome, framing)
            await relay(*relay_to, cut=transport.close, transform=transform)
        finally:
            await result.response.aclose()  # already closed by relay unless respond() failed
            if outcome.error:  # also when cancelled: a client that stopped reading is logged as such
                fields["stream_error"] = outcome.error
                record.error_type = STREAM_ERROR
            if isinstance(result.adapter, RenderedStream):
                record.usage, record.stop_reason = stream_usage(anthropic_held, result.adapter.delta_chunk)
            elif isinstance(result.adapter, NativeStream):
                record.usage = native_stream_usage(result.adapter.usage_chunk)
            else:
                record.usage, record.stop_reason = stream_usage(result.held, outcome.delta_chunk)
            record.usage = noted(record.usage, exchange.usage_note, None, state.estimator)
        return None
    except ProxyError as err:
        fields["status"] = err.status
        record.error_type = err.error_type
        _describe(fields, decision)
        await answer(request, error_response(err, route_headers(snapshot, decision, request_id), door))
        return None
    except Exception as exc:  # a bug: answer 500 with the request id; the log says where, never values
        fields["status"] = 500
        fields["exception"] = type(exc).__name__
        record.error_type = "api_error"
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        fields["at"] = f"{os.path.basename(frame.filename)}:{frame.lineno} in {frame.name}"
        if request.responded:  # a stream already under way: Sanic ends the connection
            raise
        internal = ProxyError(500, f"internal proxy error (request {request_id})")
        await answer(request, error_response(internal, route_headers(snapshot, decision, request_id), door))
        return None
    except BaseException:  # cancelled: the client went away (or the server is stopping)
        fields["status"] = 499
        record.error_type = CLIENT_CLOSED
        raise
    finally:
        state.budget.in_flight -= 1
        if exchange is not None:
            exchange.release()
            if exchange.repair is not None and exchange.repair.count:
                fields["tool_repairs"] = exchange.repair.count
                state.tool_repairs += exchange.repair.count
        elapsed = time.perf_counter() - started
        fields["ms"] = round(elapsed * 1000, 2)
        _finish(state, record, fields, decision, exchange, started, elapsed, request)
        log_event(log, logging.INFO, "request", **fields)


def _answered_by(record: RequestRecord, decided: Decision, answered: Decision) -> Decision:
    """The decision that answered (a fallback's when one was taken), noted on the record."""
    if answered.target.alias != decided.target.alias:
        record.fallback = answered.target.alias
    return answered


def _finish(
    state: ServerState,
    record: RequestRecord,
    fields: dict[str, Any],
    decision: Decision | None,
    exchange: Exchange | None,
    started: float,
    elapsed: float,
    request: Request,
) -> None:
    """Complete the record (O(1): a few attribute reads), add its fields to the log line, hand it on."""
    record.status = fields.get("status", 0)
    record.latency_s = elapsed
    record.client_model = clip(fields.get("model")) or ""
    if decision is not None:
        describe(record, decision)
        record.cost_usd = state.prices.cost(decision, record.usage)
    if exchange is not None:
        record.attempts = exchange.attempts
        record.tried = tuple(exchange.tried)
        if exchange.headers_at:
            record.upstream_ttfb_s = exchange.headers_at - started
    headers = request.headers
    record.session_id = clip(headers.get("x-claude-code-session-id"))
    record.agent_id = clip(headers.get("x-claude-code-agent-id"))
    record.client = client_family(headers.get("user-agent"))
    log_fields(record, fields)
    state.recorder.finish(record)


def error_response(err: ProxyError, headers: dict[str, str], door: FrontDoor) -> HTTPResponse:
    return anthropic_error_response(err, headers, None if door is ANTHROPIC_DOOR else door.error_body)


async def answer(request: Request, response: HTTPResponse) -> None:
    """Send a whole answer now, from inside the handler: the request's log line and the freeing of its
    parsed body (~60 us for a 126 KB Claude Code request) then come after the bytes are written, not
    between the answer and the client. Sanic frames it as it would a returned response (content-length)."""
    sink = await request.respond(response)
    await sink.send(end_stream=True)


def _describe(fields: dict[str, Any], decision: Decision | None) -> None:
    if decision is not None:
        fields["route"] = decision.route
        fields["rule"] = decision.rule_id
        fields["target"] = target_name(decision)  # as x-cc-proxy-target says it
        fields["alias"] = decision.target.alias
