"""OpenTelemetry spans per request with the GenAI semantic conventions, exported over OTLP/HTTP,
and the convention's metrics (gen_ai.client.token.usage, gen_ai.server.request.duration,
gen_ai.server.time_to_first_token) to the same collector's /v1/metrics.

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
METRICS_EVERY_MS = 10_000  # the metric reader's export interval (and a last export at shutdown)
# The convention's advisory buckets: seconds, and token counts.
DURATION_BOUNDS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TTFT_BOUNDS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
TOKEN_BOUNDS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
# The convention's provider names (gen_ai.provider.name) by wire format.
PROVIDER_NAMES = {"anthropic": "anthropic", "openai": "openai", "openai-responses": "openai", "gemini": "gcp.gemini"}
OPERATIONS = {"messages": "chat", "count_tokens": "count_tokens"}


def metrics_endpoint(traces_endpoint: str) -> str:
    """The collector's metrics URL beside its traces URL (".../v1/traces" -> ".../v1/metrics")."""
    if traces_endpoint.endswith("/v1/traces"):
        return traces_endpoint[: -len("traces")] + "metrics"
    return traces_endpoint.rstrip("/") + "/v1/metrics"


def metric_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """The span attributes a GenAI metric carries (the convention's, bounded: no session id)."""
    keys = ("gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.response.model",
            "error.type")  # fmt: skip
    return {k: attributes[k] for k in keys if k in attributes}


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
        self._meter_provider: Any = None

    def __call__(self, record: RequestRecord) -> None:
        if len(self._queue) >= QUEUE_MAX:
            self.dropped += 1
            return
        self._queue.append(record)

    def start(self) -> None:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        resource = Resource.create({"service.name": self.service_name})
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=self.endpoint, timeout=5)))
        self._provider = provider
        self._tracer = provider.get_tracer("cc_proxy")
        exporter = OTLPMetricExporter(endpoint=metrics_endpoint(self.endpoint), timeout=5)
        reader = PeriodicExportingMetricReader(exporter, export_interval_millis=METRICS_EVERY_MS)
        self._meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
        meter = self._meter_provider.get_meter("cc_proxy")
        self._tokens = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}", description="Tokens used per request, by type.",
            explicit_bucket_boundaries_advisory=TOKEN_BOUNDS,
        )  # fmt: skip
        self._duration = meter.create_histogram(
            "gen_ai.server.request.duration", unit="s", description="Request duration.",
            explicit_bucket_boundaries_advisory=DURATION_BOUNDS,
        )  # fmt: skip
        self._ttft = meter.create_histogram(
            "gen_ai.server.time_to_first_token", unit="s", description="Time to the first event of an answer.",
            explicit_bucket_boundaries_advisory=TTFT_BOUNDS,
        )  # fmt: skip
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
        if self._meter_provider is not None:
            self._meter_provider.shutdown()  # and the metrics, one last time
            self._meter_provider = None

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
            self._measure(record, attributes)

    def _measure(self, record: RequestRecord, span_attrs: dict[str, Any]) -> None:
        attributes = metric_attributes(span_attrs)
        self._duration.record(record.latency_s, attributes)
        if record.first_event_s is not None and record.stream:
            self._ttft.record(record.first_event_s, attributes)
        usage = record.usage
        if usage is not None:
            cached_in = usage.input + usage.cache_read + usage.cache_write  # the convention's input count
            self._tokens.record(cached_in, {**attributes, "gen_ai.token.type": "input"})
            self._tokens.record(usage.output, {**attributes, "gen_ai.token.type": "output"})
