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

from sanic import Request
from sanic.response import HTTPResponse

from cc_proxy.engine.decide import Decision, decide
from cc_proxy.engine.errors import ProxyError
from cc_proxy.engine.snapshot import Snapshot
from cc_proxy.server.errors import JSON, error_response, new_request_id
from cc_proxy.server.exchange import Committed, Exchange, run
from cc_proxy.server.logging_setup import log_event
from cc_proxy.server.relay import StreamOutcome, relay
from cc_proxy.server.request_body import check_messages_request, parse_json_object
from cc_proxy.server.state import ServerState, authorize, get_state, route_headers

log = logging.getLogger("cc_proxy")

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


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
    state = get_state(request)
    snapshot = state.holder.current  # once: this request lives on this snapshot
    request_id = new_request_id()
    started = time.perf_counter()
    decision: Decision | None = None
    state.budget.in_flight += 1
    fields: dict[str, Any] = {"request_id": request_id, "path": request.path, "config": snapshot.version}
    try:
        admit(request, snapshot, state)
        body = parse_json_object(request.body)
        check_messages_request(body)
        stream = body.get("stream") is True
        fields.update(model=body["model"], stream=stream)
        headers = client_headers(request)
        decision = decide(snapshot, body, headers, state.estimator)
        exchange = Exchange(
            snapshot, state.http(), headers, stream, state.budget, state.breaker, body_size=len(request.body)
        )
        result = await run(exchange, decision)
        fields["attempts"] = exchange.attempts
        out_headers = route_headers(snapshot, result.decision, request_id)
        _describe(fields, result.decision)
        if not isinstance(result, Committed):
            out_headers.update(result.headers)
            fields["status"] = result.status
            await answer(request, HTTPResponse(result.body, result.status, out_headers, content_type=JSON))
            return None
        out_headers.update(result.headers)
        if result.adapter is None:
            await result.response.aclose()
            fields["status"] = 200
            await answer(request, HTTPResponse(result.held, 200, out_headers, content_type=JSON))
            return None
        out_headers.update(SSE_HEADERS)
        outcome = StreamOutcome()
        try:
            sink = await request.respond(status=200, headers=out_headers, content_type="text/event-stream")
            fields["status"] = 200
            # Sanic types the transport as a BaseTransport; it is the connection's full (uvloop) transport.
            abort = cast(asyncio.Transport, request.transport).abort
            await relay(sink, result, snapshot.server, abort, outcome)  # also ends the response
        finally:
            await result.response.aclose()  # already closed by relay unless respond() failed
            if outcome.error:  # also when cancelled: a client that stopped reading is logged as such
                fields["stream_error"] = outcome.error
        return None
    except ProxyError as err:
        fields["status"] = err.status
        _describe(fields, decision)
        await answer(request, error_response(err, route_headers(snapshot, decision, request_id)))
        return None
    except Exception as exc:  # a bug: answer 500 with the request id; the log says where, never values
        fields["status"] = 500
        fields["exception"] = type(exc).__name__
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        fields["at"] = f"{os.path.basename(frame.filename)}:{frame.lineno} in {frame.name}"
        if request.responded:  # a stream already under way: Sanic ends the connection
            raise
        internal = ProxyError(500, f"internal proxy error (request {request_id})")
        await answer(request, error_response(internal, route_headers(snapshot, decision, request_id)))
        return None
    except BaseException:  # cancelled: the client went away (or the server is stopping)
        fields["status"] = 499
        raise
    finally:
        state.budget.in_flight -= 1
        fields["ms"] = round((time.perf_counter() - started) * 1000, 2)
        log_event(log, logging.INFO, "request", **fields)


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
        fields["target"] = f"{decision.target.provider.name}/{decision.target.alias}"
