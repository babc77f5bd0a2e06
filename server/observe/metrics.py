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

import bisect
import math
import os
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
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
        # Multiprocess: the metric objects below write every worker's values to files and each scrape
        # builds a registry that reads them. One process: they are never updated (they name and
        # describe what the tallies' collector exports); the registry holds the collectors.
        registry = None
        self._registry = None if self._multiprocess else CollectorRegistry(auto_describe=True)
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
        if self._multiprocess:
            self.in_flight = Gauge(
                "cc_proxy_in_flight", "API requests being handled now.", multiprocess_mode="livesum", registry=None
            )
        self._children: dict[tuple[str, ...], _Children] = {}
        self._attempt_children: dict[tuple[str, str, str], Counter] = {}
        # One process: plain-Python tallies per label set, turned into metric families at scrape time
        # (a few list increments per request instead of a dozen locked metric updates).
        self._tallies: dict[tuple[str, ...], _Tally] | None = None
        self._attempt_tallies: dict[tuple[str, str, str], int] = {}
        if self._registry is not None:
            self._tallies = {}
            self._registry.register(_TallyCollector(self))
            if state is not None:
                self._registry.register(_StateCollector(state, in_flight=True))

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
        if self._tallies is not None:
            self._tally(request_labels, record)
            return
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

    def _tally(self, request_labels: tuple[str, ...], record: RequestRecord) -> None:
        tallies = self._tallies
        assert tallies is not None
        tally = tallies.get(request_labels)
        if tally is None:
            if len(tallies) >= MAX_LABEL_SETS:
                return  # a config cannot make this many label sets: refuse to grow without bound
            tally = tallies[request_labels] = _Tally()
        tally.requests += 1
        tally.duration.observe(record.latency_s)
        if record.upstream_ttfb_s is not None:
            tally.ttfb.observe(record.upstream_ttfb_s)
        if record.first_event_s is not None:
            tally.first_event.observe(record.first_event_s)
        usage = record.usage
        if usage is not None:
            tokens = tally.tokens
            tokens[0] += usage.input
            tokens[1] += usage.output
            tokens[2] += usage.cache_read
            tokens[3] += usage.cache_write
            tokens[4] += usage.reasoning
        if record.cost_usd:
            tally.cost += record.cost_usd
        attempts = self._attempt_tallies
        for key in record.tried:
            attempts[key] = attempts.get(key, 0) + 1

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


class _Hist:
    """Prometheus histogram arithmetic without the library's per-call locking: per-bucket counts
    (`le` semantics: a value equal to a bound falls in that bucket) and the sum."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value

    def add_to(self, into: _Hist) -> None:
        for i, count in enumerate(self.counts):
            into.counts[i] += count
        into.total += self.total

    def buckets(self) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        running = 0
        for bound, count in zip((*self.bounds, math.inf), self.counts, strict=True):
            running += count
            out.append(("+Inf" if bound == math.inf else repr(float(bound)), running))
        return out


class _Tally:
    __slots__ = ("cost", "duration", "first_event", "requests", "tokens", "ttfb")

    def __init__(self) -> None:
        self.requests = 0
        self.duration = _Hist(DURATION_BUCKETS)
        self.ttfb = _Hist(FIRST_BYTE_BUCKETS)
        self.first_event = _Hist(FIRST_BYTE_BUCKETS)
        self.tokens = [0] * len(TOKEN_TYPES)
        self.cost = 0.0


class _TallyCollector(Collector):
    """The one-process metrics, built from the tallies at scrape time (same names, labels and help
    as the multiprocess metrics)."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        m = self._metrics
        tallies = dict(m._tallies or {})  # a copy: requests may add label sets meanwhile
        attempts = dict(m._attempt_tallies)
        requests = CounterMetricFamily("cc_proxy_requests", m.requests._documentation, labels=REQUEST_LABELS)
        durations: dict[tuple[str, ...], _Hist] = {}
        ttfb: dict[tuple[str, ...], _Hist] = {}
        first: dict[tuple[str, ...], _Hist] = {}
        tokens: dict[tuple[str, ...], list[int]] = {}
        cost: dict[tuple[str, ...], float] = {}
        for labels, tally in tallies.items():
            requests.add_metric(labels, tally.requests)
            target = (labels[3], labels[4])
            tally.duration.add_to(durations.setdefault((labels[0], labels[1], *target), _Hist(DURATION_BUCKETS)))
            tally.ttfb.add_to(ttfb.setdefault(target, _Hist(FIRST_BYTE_BUCKETS)))
            tally.first_event.add_to(first.setdefault(target, _Hist(FIRST_BYTE_BUCKETS)))
            sums = tokens.setdefault(target, [0] * len(TOKEN_TYPES))
            for i, count in enumerate(tally.tokens):
                sums[i] += count
            cost[target] = cost.get(target, 0.0) + tally.cost
        yield requests
        for name, source, labelnames, hists in (
            ("cc_proxy_request_duration_seconds", m.duration, ("endpoint", "route", *TARGET_LABELS), durations),
            ("cc_proxy_upstream_ttfb_seconds", m.ttfb, TARGET_LABELS, ttfb),
            ("cc_proxy_first_event_seconds", m.first_event, TARGET_LABELS, first),
        ):
            family = HistogramMetricFamily(name, source._documentation, labels=labelnames)
            for labels, hist in hists.items():
                family.add_metric(labels, hist.buckets(), hist.total)
            yield family
        attempt_family = CounterMetricFamily(
            "cc_proxy_upstream_attempts", m.attempts._documentation, labels=(*TARGET_LABELS, "outcome")
        )
        for key, count in attempts.items():
            attempt_family.add_metric(key, count)
        yield attempt_family
        token_family = CounterMetricFamily("cc_proxy_tokens", m.tokens._documentation, labels=(*TARGET_LABELS, "type"))
        for token_target, sums in tokens.items():
            for kind, count in zip(TOKEN_TYPES, sums, strict=True):
                if count:
                    token_family.add_metric((*token_target, kind), count)
        yield token_family
        cost_family = CounterMetricFamily("cc_proxy_cost_usd", m.cost._documentation, labels=TARGET_LABELS)
        for cost_target, value in cost.items():
            cost_family.add_metric(cost_target, value)
        yield cost_family


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
