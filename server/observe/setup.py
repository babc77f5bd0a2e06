"""Wire the recorder's sinks for one app: Prometheus metrics and the usage history, each optional."""

from __future__ import annotations

import logging

from cc_proxy.server.logging_setup import log_event
from cc_proxy.server.observe.usage_db import UsageWriter, database_path
from cc_proxy.server.state import ServerState

log = logging.getLogger("cc_proxy")


def setup_recording(state: ServerState, *, metrics: bool, usage: bool) -> None:
    snapshot = state.holder.current
    if metrics:
        from cc_proxy.server.observe.metrics import Metrics

        holder, breaker = state.holder, state.breaker

        budget = state.budget

        def scrape_state() -> tuple[int, int, dict[tuple[str, str], int], int]:
            models = holder.current.models
            circuits = {
                (model.provider.name, alias): int(breaker is not None and breaker.ejected(alias))
                for alias, model in models.items()
            }
            return holder.reloads, holder.rejected, circuits, budget.in_flight

        state.metrics = Metrics(scrape_state)
        state.recorder.add(state.metrics, state.metrics.started if state.metrics.counts_in_flight else None)
    server = snapshot.server
    if server.traces_endpoint:
        setup_traces(state, server.traces_endpoint, server.traces_service_name)
    if usage and server.usage_enabled:
        path = database_path(server.usage_path, snapshot.config_file)
        state.usage = UsageWriter(path, server.usage_retention_days)
        state.recorder.add(state.usage)


def setup_traces(state: ServerState, endpoint: str, service_name: str) -> None:
    import importlib.util

    if importlib.util.find_spec("opentelemetry.sdk") is None:
        log_event(log, logging.ERROR, "traces_unavailable",
                  detail="server.traces needs the traces extra: pip install 'cc-proxy[traces]'")  # fmt: skip
        return
    from cc_proxy.server.observe.traces import TraceSink

    formats = {name: str(provider.format) for name, provider in state.holder.current.providers.items()}
    state.traces = TraceSink(endpoint, service_name, formats)
    state.recorder.add(state.traces)
