"""Snapshots built in code for engine unit tests (golden cases go through engine.load instead)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cc_proxy.engine.profiles import BUILTIN_PROFILES
from cc_proxy.engine.rules import compile_rewrite_rule, compile_routing_rule
from cc_proxy.engine.snapshot import ApiKey, ResolvedModel, ResolvedProvider, Route, ServerSettings, Snapshot


def provider(name: str, fmt: str = "anthropic") -> ResolvedProvider:
    profile = BUILTIN_PROFILES["anthropic" if fmt == "anthropic" else "openai"]
    return ResolvedProvider(
        name=name,
        format=profile.format,
        base_url=f"https://{name}.example",
        api_key=ApiKey("literal", "sk-test"),
        headers={},
        profile=profile,
    )


PROVIDERS = {"anthropic": provider("anthropic"), "openai": provider("openai", "openai")}


def model(alias: str, prov: str = "anthropic", upstream: str | None = None, **kw: Any) -> ResolvedModel:
    return ResolvedModel(alias=alias, provider=PROVIDERS[prov], upstream_model=upstream, **kw)


DEFAULT_MODELS = (
    model("sonnet", upstream="claude-sonnet-4-5", max_tokens=64000),
    model("haiku", upstream="claude-haiku-4-5", max_tokens=8000),
    model("opus", upstream="claude-opus-4-1"),
    model("gpt", "openai", "gpt-5", max_tokens=16000, params={"reasoning_effort": "high"}),
    model("passthrough", upstream=None),
)


def make_snapshot(
    *,
    models: Sequence[ResolvedModel] = DEFAULT_MODELS,
    routes: Mapping[str, str | tuple[str, tuple[str, ...]]] | None = None,
    routing: Sequence[Mapping[str, Any]] = (),
    rewrite: Sequence[Mapping[str, Any]] = (),
) -> Snapshot:
    if routes is None:
        routes = {"default": "sonnet"}
    built_routes = {}
    for name, spec in routes.items():
        alias, fallbacks = (spec, ()) if isinstance(spec, str) else spec
        built_routes[name] = Route(name, alias, fallbacks)
    return Snapshot(
        version="test",
        config_file=None,
        rule_files=("rules.json",),
        server=ServerSettings(),
        providers=PROVIDERS,
        models={m.alias: m for m in models},
        routes=built_routes,
        routing_rules=tuple(compile_routing_rule(r, "rules.json", f"$.routing[{i}]") for i, r in enumerate(routing)),
        rewrite_rules=tuple(compile_rewrite_rule(r, "rules.json", f"$.rewrite[{i}]") for i, r in enumerate(rewrite)),
    )
