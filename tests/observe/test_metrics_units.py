"""The one-process tallies exported as Prometheus text: the same arithmetic as prometheus-client's own
histograms and counters, read back with its parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from cc_proxy.engine.usage import Usage
from cc_proxy.server.observe.metrics import Metrics
from cc_proxy.server.observe.record import RequestRecord


def record(latency: float, **kw: object) -> RequestRecord:
    r = RequestRecord("req_1", "messages", 0.0, route="default", rule="r", provider="p", alias="m", status=200)
    r.latency_s = latency
    for key, value in kw.items():
        setattr(r, key, value)
    return r


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_histogram_buckets_are_cumulative_and_a_bound_is_inclusive() -> None:
    metrics = Metrics(lambda: (2, 1, {("p", "m"): 1}, 3))
    for latency in (0.005, 0.0051, 700.0):
        metrics(record(latency, first_event_s=latency, usage=Usage(input=10, output=2, cache_read=5)))
    metrics(record(0.2, status=502, error_type="api_error", tried=(("p", "m", "error"), ("p", "m", "error"))))
    got = samples(metrics)
    labels = (("endpoint", "messages"), ("model", "m"), ("provider", "p"), ("route", "default"))
    bucket = {dict(k[1])["le"]: v for k, v in got.items() if k[0] == "cc_proxy_request_duration_seconds_bucket"}
    assert bucket["0.005"] == 1 and bucket["0.01"] == 2 and bucket["0.25"] == 3 and bucket["600.0"] == 3
    assert bucket["+Inf"] == 4
    assert got[("cc_proxy_request_duration_seconds_count", labels)] == 4
    assert abs(got[("cc_proxy_request_duration_seconds_sum", labels)] - (0.005 + 0.0051 + 700.0 + 0.2)) < 1e-9
    target = (("model", "m"), ("provider", "p"))
    assert got[("cc_proxy_first_event_seconds_count", target)] == 3
    assert got[("cc_proxy_tokens_total", (*target, ("type", "input")))] == 30
    assert got[("cc_proxy_tokens_total", (*target, ("type", "cache_read")))] == 15
    assert got[("cc_proxy_upstream_attempts_total", (("model", "m"), ("outcome", "error"), ("provider", "p")))] == 2
    assert got[("cc_proxy_reloads_total", (("result", "ok"),))] == 2
    assert got[("cc_proxy_circuit_open", target)] == 1 and got[("cc_proxy_in_flight", ())] == 3
    errors = [k for k in got if k[0] == "cc_proxy_requests_total" and ("status", "502") in k[1]]
    assert len(errors) == 1 and ("error_type", "api_error") in errors[0][1]
