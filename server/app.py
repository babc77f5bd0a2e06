"""`create_app(settings, loaded)`: the Sanic application, its listeners and its one error renderer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from typing import Any

import orjson
from sanic import Request, Sanic
from sanic.exceptions import RequestCancelled, SanicException
from sanic.handlers import ErrorHandler
from sanic.response import HTTPResponse
from sanic.touchup import TouchUp

from cc_proxy.server.breaker import Breaker
from cc_proxy.server.errors import JSON, error_body, new_request_id
from cc_proxy.server.handlers import mount
from cc_proxy.server.holder import SnapshotHolder
from cc_proxy.server.logging_setup import log_event
from cc_proxy.server.observe.setup import setup_recording
from cc_proxy.server.reload import watch_and_reload
from cc_proxy.server.retry import RetryBudget
from cc_proxy.server.settings import ServeSettings, bind_refusal
from cc_proxy.server.state import EstimatorWarmup, ServerState, route_headers
from cc_proxy.server.tokens import build_estimator, needs_tokens, warm_estimator
from cc_proxy.server.upstream import create_client
from cc_proxy.server.wire_registry import formats_of, prepare_wires

log = logging.getLogger("cc_proxy")

# Sanic answers its own 503 when a handler is silent this long: keep it above every upstream deadline.
RESPONSE_TIMEOUT_MARGIN = 60.0
GRACEFUL_SHUTDOWN_TIMEOUT = 15.0
RELOAD_STOP_WAIT = 2.0
REQUEST_TIMEOUT = 10
WATCH_START_DELAY = 0.3  # seconds: the file watcher starts after the first answers (server/reload.py)
TOUCH_UP_DELAY = WATCH_START_DELAY  # seconds: Sanic's request-path optimisation, deferred the same way


class AnthropicErrorHandler(ErrorHandler):
    """Sanic's own errors (413 before the handler, 404 route, 405) as Anthropic error bodies."""

    def default(self, request: Request, exception: Exception) -> HTTPResponse:
        status = exception.status_code if isinstance(exception, SanicException) else 500
        if isinstance(exception, RequestCancelled):  # the client left: nobody reads this answer
            return HTTPResponse(b"", status=499)
        if status == 404:
            message = f"not found: {request.method} {request.path[:200]}"
        elif status == 413:  # Sanic says which: "Request header/body exceeds the size limit"
            message = str(exception)[:200] or "request too large"
        elif status == 405:
            message = f"method {request.method} not allowed on {request.path[:200]}"
        elif isinstance(exception, SanicException) and status < 500:
            message = str(exception)[:300]
        else:
            status, message = 500, "internal proxy error"
            log_event(log, logging.ERROR, "unhandled_error", exception=type(exception).__name__)
        state: ServerState | None = getattr(request.app.ctx, "state", None)
        request_id = new_request_id()
        headers = (
            route_headers(state.holder.current, None, request_id) if state is not None else {"request-id": request_id}
        )
        return HTTPResponse(error_body(status, message), status=status, headers=headers, content_type=JSON)


def create_app(
    settings: ServeSettings,
    holder: SnapshotHolder,
    *,
    load: Callable[[str | None], Any] | None = None,
    on_ready: Callable[[Sanic[Any, Any]], None] | None = None,
    build_estimator: Callable[[], Any] | None = None,
) -> Sanic[Any, Any]:
    """Build the app around `holder` (already holding the first snapshot). `load` reloads from disk (None:
    no hot reload); `on_ready` runs once the server listens (the serve command prints the URL there)."""
    snapshot = holder.current
    server = snapshot.server
    bound_host = settings.bind(snapshot)[0]  # the listener is bound once: a reload cannot move it
    # configure_logging off: Sanic's plain-text handlers would write lines that are not JSON; its loggers
    # reach the root logger, which `serve` points at the JSON formatter (server/logging_setup.py).
    app = Sanic(
        f"cc_proxy_{secrets.token_hex(4)}", error_handler=AnthropicErrorHandler(), dumps=_dumps, configure_logging=False
    )
    app.config.ACCESS_LOG = False
    app.config.MOTD = False
    app.config.NOISY_EXCEPTIONS = False
    app.config.AUTO_RELOAD = False
    # Sanic's touch-up recompiles its request path without the dispatch of signals nobody handles (12 a
    # request, ~4 us each) but costs ~35 ms at startup: it runs once the first answers are out (_touch_up).
    app.config.TOUCHUP = False
    app.config.REQUEST_MAX_SIZE = server.max_body
    app.config.RESPONSE_TIMEOUT = int(
        max(server.first_byte_timeout, server.first_byte_timeout_nonstream, server.idle_timeout)
        + RESPONSE_TIMEOUT_MARGIN
    )
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = GRACEFUL_SHUTDOWN_TIMEOUT
    # Sanic's request timer is one of inactivity: a short one bounds slow-header clients (reliability C8).
    app.config.REQUEST_TIMEOUT = REQUEST_TIMEOUT
    make_estimator = build_estimator or _default_estimator
    breaker = (
        Breaker(settings.eject_after, settings.eject_for, settings.eject_cap) if settings.eject_after > 0 else None
    )
    state = ServerState(
        holder=holder,
        upstream_transport=settings.upstream_transport,
        breaker=breaker,
        budget=RetryBudget(settings.retry_stop_after),
    )
    app.ctx.state = state
    setup_recording(state, metrics=settings.metrics, usage=settings.usage)
    app.ctx.stop_reload = None
    app.ctx.reload_task = None
    app.ctx.on_stopping = None  # set by the serve command's interrupt handling (server/interrupt.py)
    mount(app, server.mount_prefix)

    @app.before_server_start
    async def _start(app: Sanic[Any, Any]) -> None:
        state: ServerState = app.ctx.state
        prepare_wires(formats_of(holder.current))
        state.client = create_client(state.upstream_transport, max_connections=max(64, server.max_in_flight))
        if state.usage is not None:
            state.usage.start()  # per worker: threads do not survive a fork
        if state.traces is not None:
            state.traces.start()
        # per worker: threads do not survive a fork
        state.warmup = EstimatorWarmup(make_estimator, background=needs_tokens(holder.current), warm=warm_estimator)
        asyncio.get_running_loop().call_later(TOUCH_UP_DELAY, _touch_up, app)
        if load is not None and settings.watch:
            stop = asyncio.Event()
            app.ctx.stop_reload = stop
            # A plain task, not Sanic's add_task: Sanic cancels its own tasks before the stop listeners
            # run; this one is stopped by its event and awaited in _stopping.
            app.ctx.reload_task = asyncio.create_task(
                watch_and_reload(
                    holder,
                    settings.config_path,
                    load,
                    stop,
                    debounce_ms=settings.reload_debounce_ms,
                    start_delay=WATCH_START_DELAY,
                    guard=lambda new: bind_refusal(bound_host, new.server.auth_token, settings.allow_insecure_bind),
                ),
                name="cc_proxy_reload",
            )

    @app.after_server_start
    async def _ready(app: Sanic[Any, Any]) -> None:
        if on_ready is not None:
            on_ready(app)

    @app.before_server_stop
    async def _stopping(app: Sanic[Any, Any]) -> None:
        on_stopping: Callable[[], None] | None = app.ctx.on_stopping
        if on_stopping is not None:
            on_stopping()
        stop: asyncio.Event | None = app.ctx.stop_reload
        if stop is not None:
            stop.set()  # awatch sees it and returns; wait briefly so the task ends cleanly, not cancelled
            task: asyncio.Task[None] | None = app.ctx.reload_task
            if task is not None:
                with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(task, RELOAD_STOP_WAIT)

    @app.after_server_stop
    async def _stop(app: Sanic[Any, Any]) -> None:
        state: ServerState = app.ctx.state
        if state.client is not None:
            await state.client.aclose()
            state.client = None
        if state.usage is not None:
            await asyncio.get_running_loop().run_in_executor(None, state.usage.stop)  # writes what is queued
        if state.traces is not None:
            await asyncio.get_running_loop().run_in_executor(None, state.traces.stop)  # exports what is left

    return app


def _touch_up(app: Sanic[Any, Any]) -> None:
    """What Sanic's startup does with TOUCHUP on, later: handlers already running keep the old code, the
    next ones run the optimised methods, which behave the same."""
    try:
        TouchUp.run(app)  # type: ignore[no-untyped-call]  # Sanic leaves it unannotated
    except Exception as exc:  # an optimisation: serving goes on unoptimised
        log_event(log, logging.WARNING, "touchup_failed", exception=type(exc).__name__)


def _default_estimator() -> Any:
    return build_estimator()


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()
