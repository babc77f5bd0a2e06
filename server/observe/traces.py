"""OpenTelemetry spans per request with the GenAI semantic conventions, exported over OTLP/HTTP.

Optional: `pip install 'cc-proxy[traces]'` and `server.traces.endpoint`. The sink only appends the
record to a bounded deque (O(1) on the request's task); one thread per worker turns records into
spans after the fact (their real start and end times) and the SDK's batch processor exports them.
Attributes are the record's: names from the config, counts and the client's model name; never a body,
a key, or a header value but the session id (`gen_ai.conversation.id`).
"""

from __future__ import annotations

import collections
import logging
import threading
from typing import Any

from cc_proxy.server.logging_setup import log_event
from cc_proxy.server.observe.record import MAX_TEXT, RequestRecord

log = logging.getLogger("cc_proxy")

QUEUE_MAX = 10_000
DRAIN_EVERY = 0.2  # seconds
# The convention's provider names (gen_ai.provider.name) by wire format.
PROVIDER_NAMES = {"anthropic": "anthropic", "openai": "openai", "openai-responses": "openai", "gemini": "gcp.gemini"}
OPERATIONS = {"messages": "chat", "count_tokens": "count_tokens"}


def span_attributes(record: RequestRecord, provider_format: str) -> dict[str, Any]:
    """The GenAI attributes of one request; cached tokens are summed into input tokens, as the
    convention counts them (gen_ai.usage.input_tokens includes cached input)."""
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": OPERATIONS.get(record.endpoint, record.endpoint),
        "gen_ai.provider.name": PROVIDER_NAMES.get(provider_format, provider_format or "unknown"),
        "gen_ai.request.model": record.client_model,
        "cc_proxy.route": record.route,
        "cc_proxy.rule": record.rule,
        "cc_proxy.target": f"{record.provider}/{record.alias}",
        "cc_proxy.attempts": record.attempts,
        "http.response.status_code": record.status,
    }
    if record.upstream_model:
        attributes["gen_ai.response.model"] = record.upstream_model
    usage = record.usage
    if usage is not None:
        attributes["gen_ai.usage.input_tokens"] = usage.input + usage.cache_read + usage.cache_write
        attributes["gen_ai.usage.output_tokens"] = usage.output
        attributes["gen_ai.usage.cache_read.input_tokens"] = usage.cache_read
        attributes["gen_ai.usage.cache_creation.input_tokens"] = usage.cache_write
    if record.stop_reason:
        attributes["gen_ai.response.finish_reasons"] = (record.stop_reason[:40],)
    if record.session_id:
        attributes["gen_ai.conversation.id"] = record.session_id[:MAX_TEXT]
    if record.error_type:
        attributes["error.type"] = record.error_type
    if record.fallback:
        attributes["cc_proxy.fallback"] = record.fallback
    if record.cost_usd is not None:
        attributes["cc_proxy.cost_usd"] = record.cost_usd
    return attributes


class TraceSink:
    """Recorder sink. `start()` in the worker (after a fork), `stop()` exports what is left."""

    def __init__(self, endpoint: str, service_name: str, formats: dict[str, str]) -> None:
        self.endpoint = endpoint
        self.service_name = service_name
        self.formats = formats  # provider name -> wire format
        self.dropped = 0
        self._queue: collections.deque[RequestRecord] = collections.deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._provider: Any = None

    def __call__(self, record: RequestRecord) -> None:
        if len(self._queue) >= QUEUE_MAX:
            self.dropped += 1
            return
        self._queue.append(record)

    def start(self) -> None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(resource=Resource.create({"service.name": self.service_name}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=self.endpoint, timeout=5)))
        self._provider = provider
        self._tracer = provider.get_tracer("cc_proxy")
        self._thread = threading.Thread(target=self._run, name="cc-proxy-traces", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._provider is not None:
            self._provider.shutdown()  # exports the spans still batched
            self._provider = None

    def _run(self) -> None:
        while True:
            stopping = self._stop.wait(DRAIN_EVERY)
            try:
                self._drain()
            except Exception as exc:  # a bug here must not kill the thread silently
                log_event(log, logging.ERROR, "traces_failed", exception=type(exc).__name__)
            if stopping:
                return

    def _drain(self) -> None:
        from opentelemetry.trace import SpanKind, Status, StatusCode

        queue = self._queue
        while queue:
            record = queue.popleft()
            start_ns = int(record.started_at * 1e9)
            attributes = span_attributes(record, self.formats.get(record.provider, ""))
            name = f"{attributes['gen_ai.operation.name']} {record.client_model or record.alias}"
            span = self._tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes, start_time=start_ns)
            if record.error_type:
                span.set_status(Status(StatusCode.ERROR, record.error_type))
            span.end(end_time=start_ns + int(record.latency_s * 1e9))
