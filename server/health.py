"""What `GET /health` and `cc-proxy status` report: the server's own view, section by section.

`health_report` builds one JSON object from small section functions, each reading only what the server
already keeps (the holder, the breaker, the snapshot); a new concern (key pools, usage...) adds its own
section function to SECTIONS and, if it can make the server degraded, its reasons to `degraded_reasons`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cc_proxy.engine.snapshot import ResolvedProvider, Snapshot
from cc_proxy.server.state import ServerState


def provider_problem(provider: ResolvedProvider) -> str | None:
    """Why requests sent to `provider` fail before leaving the proxy ("no API key (...)"), or None."""
    key = provider.api_key
    if key.configured:
        return None
    where = f"environment variable {key.env_name} is not set" if key.env_name else "no api_key configured"
    return f"no API key ({where})"


def degraded_reasons(snapshot: Snapshot, state: ServerState) -> list[str]:
    """Every route whose model (or a fallback) cannot be served as configured."""
    reasons: list[str] = []
    for route in snapshot.routes.values():
        for alias in (route.model, *route.fallbacks):
            model = snapshot.models.get(alias)
            problem = provider_problem(model.provider) if model is not None else None
            if problem is not None:
                role = "model" if alias == route.model else "fallback"
                provider = model.provider.name if model is not None else "?"
                reasons.append(f"route {route.name!r}: {role} {alias!r}: provider {provider!r} has {problem}")
    return reasons


def _config(snapshot: Snapshot, state: ServerState) -> dict[str, Any]:
    holder = state.holder
    error = holder.last_error
    return {
        "config_version": snapshot.version,
        "config_file": snapshot.config_file,
        "rule_files": list(snapshot.rule_files),
        "reloads": holder.reloads,
        "reloads_rejected": holder.rejected,
        "last_reload_error": list(error.problems) if error else None,
        "uptime_s": round(holder.uptime(), 3),
        "in_flight": state.budget.in_flight,
    }


def _providers(snapshot: Snapshot, state: ServerState) -> dict[str, Any]:
    providers: dict[str, Any] = {}
    for name, provider in snapshot.providers.items():
        problem = provider_problem(provider)
        providers[name] = {"format": provider.format, "configured": problem is None, "problem": problem}
    return {"providers": providers}


def _targets(snapshot: Snapshot, state: ServerState) -> dict[str, Any]:
    """Each model alias: where it goes and its circuit (server/breaker.py) as this worker sees it."""
    targets: dict[str, Any] = {}
    for alias, model in snapshot.models.items():
        circuit = state.breaker.describe(alias) if state.breaker is not None else {"circuit": "disabled"}
        targets[alias] = {"provider": model.provider.name, "model": model.upstream_model, **circuit}
    return {"targets": targets}


def _keys(snapshot: Snapshot, state: ServerState) -> dict[str, Any]:
    """Each pooled provider's keys by position (server/key_pool.py): state, in flight, sessions pinned."""
    keys = state.pools.report(snapshot.providers.values())
    return {"keys": keys} if keys else {}


def _tool_repairs(snapshot: Snapshot, state: ServerState) -> dict[str, Any]:
    """Tool calls repaired since start (engine/wire/tool_repair.py)."""
    return {"tool_repairs": state.tool_repairs}


SECTIONS: tuple[Callable[[Snapshot, ServerState], dict[str, Any]], ...] = (
    _config,
    _providers,
    _targets,
    _keys,
    _tool_repairs,
)


def health_report(state: ServerState) -> dict[str, Any]:
    snapshot = state.holder.current
    reasons = degraded_reasons(snapshot, state)
    report: dict[str, Any] = {"status": "degraded" if reasons else "ok", "reasons": reasons}
    for section in SECTIONS:
        report.update(section(snapshot, state))
    return report
