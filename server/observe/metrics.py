"""Prometheus metrics of the proxy, through prometheus-client.

Per request the sink does a dict look-up (the labelled children of one label set, cached) and a few
increments: no label parsing, no lock held across an await. Labels come only from the config (route,
rule id, provider, model alias, the configured upstream model) or from bounded sets (status code,
Anthropic error type, endpoint), never from request text: a pass-through target's upstream model label
is "-" (the client's name is in the usage history, not in a label).

With `serve --workers N` the command sets PROMETHEUS_MULTIPROC_DIR before anything imports
prometheus_client (server/observe/multiprocess.py): every worker then writes its values to files there
and a scrape of any worker adds them all up. State the worker holds (reloads, circuits) is read at
scrape time instead (every worker watches the same files, so its reload counts are the process's).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from cc_proxy.server.observe.record import RequestRecord

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds: from a cached 2 ms answer to a 10-minute generation.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)
FIRST_BYTE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60)
TOKEN_TYPES = ("input", "output", "cache_read", "cache_write", "reasoning")
REQUEST_LABELS = (
    "endpoint",
    "route",
    "rule",
    "provider",
    "model",
    "upstream_model",
    "status",
    "error_type",
    "fallback",
)
TARGET_LABELS = ("provider", "model")
# (reloads ok, reloads rejected, {(provider, alias): 1 when ejected}, requests in flight)
ScrapeState = Callable[[], tuple[int, int, dict[tuple[str, str], int], int]]
MAX_LABEL_SETS = 10_000  # a config can only make so many; past this, children are not cached


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class _Children:
    """The labelled children one record touches, looked up once per label set."""

    __slots__ = ("cost", "duration", "first_event", "requests", "tokens", "ttfb")

    def __init__(self, m: Metrics, request_labels: tuple[str, ...], target: tuple[str, str], endpoint: str) -> None:
        self.requests = m.requests.labels(*request_labels)
        self.duration = m.duration.labels(endpoint, request_labels[1], *target)
        self.ttfb = m.ttfb.labels(*target)
        self.first_event = m.first_event.labels(*target)
        self.tokens = tuple(m.tokens.labels(*target, kind) for kind in TOKEN_TYPES)
        self.cost = m.cost.labels(*target)


class Metrics:
    """One per app. `state` gives the scrape-time values: (reloads ok, reloads rejected, circuits)
    where circuits maps (provider, model alias) to 1 when that target is ejected."""

    def __init__(self, state: ScrapeState | None = None) -> None:
        self._multiprocess = multiprocess_dir()
        # Multiprocess: the values live in files; each scrape builds a registry that reads them.
        registry = None if self._multiprocess else CollectorRegistry(auto_describe=True)
        self._registry = registry
        self._state = state
        self.requests = Counter(
            "cc_proxy_requests",
            "API requests answered, by the target that answered.",
            REQUEST_LABELS,
            registry=registry,
        )
        self.duration = Histogram(
            "cc_proxy_request_duration_seconds",
            "Whole request, until the last byte was sent.",
            ("endpoint", "route", *TARGET_LABELS),
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.ttfb = Histogram(
            "cc_proxy_upstream_ttfb_seconds",
            "Request start until the answering upstream's response headers.",
            TARGET_LABELS,
            buckets=FIRST_BYTE_BUCKETS,
            registry=registry,
        )
        self.first_event = Histogram(
            "cc_proxy_first_event_seconds",
            "Request start until the first event (stream) or the whole answer.",
            TARGET_LABELS,
            buckets=FIRST_BYTE_BUCKETS,
            registry=registry,
        )
        self.attempts = Counter(
            "cc_proxy_upstream_attempts",
            "Upstream attempts (retries and fallbacks included) by outcome.",
            (*TARGET_LABELS, "outcome"),
            registry=registry,
        )
        self.tokens = Counter(
            "cc_proxy_tokens",
            "Tokens by the upstream's usage; input excludes cache reads and writes.",
            (*TARGET_LABELS, "type"),
            registry=registry,
        )
        self.cost = Counter(
            "cc_proxy_cost_usd",
            "Cost in USD of priced requests (unpriced ones add nothing).",
            TARGET_LABELS,
            registry=registry,
        )
        # One process: read at scrape time from the worker's own count (nothing per request). Several:
        # each worker's live count in its file, summed.
        self.in_flight: Gauge | None = None
        if registry is None:
            self.in_flight = Gauge(
                "cc_proxy_in_flight", "API requests being handled now.", multiprocess_mode="livesum", registry=None
            )
        self._children: dict[tuple[str, ...], _Children] = {}
        self._attempt_children: dict[tuple[str, str, str], Counter] = {}
        if registry is not None and state is not None:
            registry.register(_StateCollector(state, in_flight=True))

    # --- per request -----------------------------------------------------------------------------------

    def started(self) -> None:
        """Multiprocess mode only (the Recorder calls it when `counts_in_flight`)."""
        if self.in_flight is not None:
            self.in_flight.inc()

    @property
    def counts_in_flight(self) -> bool:
        return self.in_flight is not None

    def __call__(self, record: RequestRecord) -> None:
        """The Recorder sink: one finished request."""
        if self.in_flight is not None:
            self.in_flight.dec()
        if not record.endpoint:
            return
        target = (record.provider or "-", record.alias or "-")
        request_labels = (
            record.endpoint,
            record.route or "-",
            record.rule or "-",
            *target,
            record.configured_model or "-",
            str(record.status),
            record.error_type or "",
            "true" if record.fallback is not None else "false",
        )
        children = self._children.get(request_labels)
        if children is None:
            children = _Children(self, request_labels, target, record.endpoint)
            if len(self._children) < MAX_LABEL_SETS:
                self._children[request_labels] = children
        children.requests.inc()
        children.duration.observe(record.latency_s)
        if record.upstream_ttfb_s is not None:
            children.ttfb.observe(record.upstream_ttfb_s)
        if record.first_event_s is not None:
            children.first_event.observe(record.first_event_s)
        usage = record.usage
        if usage is not None:
            counts = (usage.input, usage.output, usage.cache_read, usage.cache_write, usage.reasoning)
            for child, count in zip(children.tokens, counts, strict=True):
                if count:
                    child.inc(count)
        if record.cost_usd:
            children.cost.inc(record.cost_usd)
        for provider, alias, outcome in record.tried:
            key = (provider, alias, outcome)
            attempt = self._attempt_children.get(key)
            if attempt is None:
                attempt = self.attempts.labels(*key)
                if len(self._attempt_children) < MAX_LABEL_SETS:
                    self._attempt_children[key] = attempt
            attempt.inc()

    # --- scrape ----------------------------------------------------------------------------------------

    def render(self) -> bytes:
        """The exposition text (blocking: multiprocess mode reads files; run it off the event loop)."""
        if self._registry is not None:
            return generate_latest(self._registry)
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=self._multiprocess)  # type: ignore[no-untyped-call]
        if self._state is not None:
            registry.register(_StateCollector(self._state, in_flight=False))
        return generate_latest(registry)


class _StateCollector(Collector):
    def __init__(self, state: ScrapeState, in_flight: bool) -> None:
        self._state = state
        self._in_flight = in_flight  # report the worker's own in-flight count (one process)

    def collect(self) -> Iterable[Metric]:
        ok, rejected, circuits, in_flight = self._state()
        reloads = CounterMetricFamily("cc_proxy_reloads", "Config reloads by result.", labels=("result",))
        reloads.add_metric(("ok",), ok)
        reloads.add_metric(("rejected",), rejected)
        yield reloads
        circuit = GaugeMetricFamily(
            "cc_proxy_circuit_open",
            "1 while this worker skips the target after repeated failures.",
            labels=TARGET_LABELS,
        )
        for (provider, alias), value in sorted(circuits.items()):
            circuit.add_metric((provider, alias), value)
        yield circuit
        if self._in_flight:
            gauge = GaugeMetricFamily("cc_proxy_in_flight", "API requests being handled now.")
            gauge.add_metric((), in_flight)
            yield gauge
