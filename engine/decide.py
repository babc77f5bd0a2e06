"""The decision: which target serves a request, why, and the request to send it (docs/configuration.md).

1. `provider,model` in the request's `model` wins; 2. a configured model alias; 3. routing rules, first
match wins (a rule whose route is not configured is skipped); 4. the `default` route; 5. 404.
A target whose `context` the input does not fit gives way to a fallback or `longContext` target that
it fits (engine.context_fit), or the request gets Anthropic's `prompt is too long` 400.
Then rewrite rules apply in order for the chosen target, and last the upstream model name, the model's
`params` and `extra_body` are set. Pure and cheap: tokens are counted only if a rule asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from cc_proxy.engine.context_fit import clamp_max_tokens, fit
from cc_proxy.engine.errors import ProxyError
from cc_proxy.engine.features import Features
from cc_proxy.engine.match import RuleContext, evaluate
from cc_proxy.engine.rewrite import fresh, merge_patch
from cc_proxy.engine.snapshot import ResolvedModel, RoutingRule, Snapshot
from cc_proxy.engine.tokens import TokenEstimator

Phase = Literal["model", "routing", "default", "context", "rewrite", "fallback"]


@dataclass(frozen=True, slots=True)
class TraceStep:
    phase: Phase
    rule_id: str | None  # None for steps that are not rules (explicit model, default route, fallback)
    matched: bool
    reason: str

    def render(self) -> str:
        mark = "+" if self.matched else "-"
        name = f"{self.rule_id}: " if self.rule_id else ""
        return f"{mark} [{self.phase}] {name}{self.reason}"


@dataclass(frozen=True, slots=True)
class Decision:
    route: str | None  # None: explicit provider,model, a model alias, or a rule with `model`
    rule_id: str | None  # the routing rule that fired, if any
    target: ResolvedModel
    fallbacks: tuple[ResolvedModel, ...]
    # Rewritten request, `model` set to the upstream name. Shares untouched subtrees with the client's
    # request: treat it as immutable (copy what you change).
    request: dict[str, Any]
    requested_model: str
    trace: tuple[TraceStep, ...]
    features: Features


@dataclass(frozen=True)
class NoRouteError(ProxyError):
    """404: nothing is configured for this request. Carries the rules tried, for `explain` and logs."""

    trace: tuple[TraceStep, ...] = ()


def _not_found(snapshot: Snapshot, model: str, trace: list[TraceStep]) -> NoRouteError:
    aliases = ", ".join(sorted(snapshot.models)) or "none"
    routes = ", ".join(sorted(snapshot.routes)) or "none"
    return NoRouteError(
        404,
        f"no target for model {model!r}: it is not `provider,model` for a configured provider, not a model "
        f"alias, no routing rule matched and no `default` route is configured "
        f"(model aliases: {aliases}; routes: {routes})",
        should_retry=False,
        trace=tuple(trace),
    )


def _explicit_target(snapshot: Snapshot, model: str) -> ResolvedModel:
    """`provider,model`: that provider and upstream name; limits come from a configured model alias
    with the same provider and upstream name, if there is one."""
    provider_name, _, upstream = (part.strip() for part in model.partition(","))
    provider = snapshot.providers.get(provider_name)
    if provider is None or not upstream:
        providers = ", ".join(sorted(snapshot.providers)) or "none"
        raise ProxyError(
            404,
            f"model {model!r} names provider {provider_name!r}, which is not configured (providers: {providers})"
            if provider is None
            else f"model {model!r} names no upstream model after the comma",
            should_retry=False,
        )
    for resolved in snapshot.models.values():
        if resolved.provider.name == provider_name and resolved.upstream_model == upstream:
            return replace(resolved, alias=f"{provider_name},{upstream}")
    return ResolvedModel(alias=f"{provider_name},{upstream}", provider=provider, upstream_model=upstream)


def _route_target(snapshot: Snapshot, name: str) -> tuple[ResolvedModel, tuple[ResolvedModel, ...]]:
    route = snapshot.routes[name]
    fallbacks = tuple(snapshot.models[alias] for alias in route.fallbacks if alias in snapshot.models)
    return snapshot.models[route.model], fallbacks


def decide(
    snapshot: Snapshot,
    request: Mapping[str, Any],
    headers: Mapping[str, str],
    estimator: TokenEstimator | None,
    *,
    explain: bool = False,
    fit_context: bool = True,
    size: int | None = None,
) -> Decision:
    """Choose the target and rewrite the request. `explain` records why every rule did or did not match
    (slower: for `cc-proxy explain`); otherwise only the rules that fired are explained. `fit_context`
    False (count_tokens: a count is wanted whatever the size) skips the context-window check. `size`:
    the request body's length in bytes, when the caller has it (it saves measuring it).
    Raises ProxyError(404) when nothing is configured for the request."""
    headers = {k.lower(): v for k, v in headers.items()}
    features = Features(request, headers, estimator, size)
    model = features.model
    trace: list[TraceStep] = []
    route: str | None = None
    rule_id: str | None = None
    fallbacks: tuple[ResolvedModel, ...] = ()

    if "," in model:
        target = _explicit_target(snapshot, model)
        trace.append(TraceStep("model", None, True, f"explicit provider,model {model!r}"))
    elif model in snapshot.models:
        target = snapshot.models[model]
        trace.append(TraceStep("model", None, True, f"model {model!r} is a configured model alias"))
    else:
        found = _run_routing(snapshot, RuleContext(request, headers, features), trace, explain)
        if found is not None:
            rule = found
            rule_id = rule.id
            if rule.route is not None:
                route = rule.route
                target, fallbacks = _route_target(snapshot, route)
            else:
                assert rule.model is not None
                target = snapshot.models[rule.model]
        elif "default" in snapshot.routes:
            route = "default"
            target, fallbacks = _route_target(snapshot, route)
            trace.append(TraceStep("default", None, True, "no routing rule matched: route default"))
        else:
            raise _not_found(snapshot, model, trace)

    if fit_context:
        fitted = fit(snapshot, features, target, fallbacks)  # raises the 400 when the input fits nowhere
        if fitted.reason is not None:
            trace.append(TraceStep("context", None, True, fitted.reason))
        target, fallbacks = fitted.target, fitted.fallbacks
    rewritten = _rewrite(snapshot, request, headers, features, route, target, trace, explain)
    return Decision(
        route=route,
        rule_id=rule_id,
        target=target,
        fallbacks=fallbacks,
        request=rewritten,
        requested_model=model,
        trace=tuple(trace),
        features=features,
    )


def _run_routing(snapshot: Snapshot, ctx: RuleContext, trace: list[TraceStep], explain: bool) -> RoutingRule | None:
    for rule in snapshot.routing_rules:
        if rule.route is not None and rule.route not in snapshot.routes:
            trace.append(TraceStep("routing", rule.id, False, f"route {rule.route!r} is not configured: skipped"))
            continue
        if rule.model is not None and rule.model not in snapshot.models:  # the loader prevents this
            trace.append(TraceStep("routing", rule.id, False, f"model alias {rule.model!r} is not configured"))
            continue
        if explain:
            ok, reason = evaluate(rule.when, ctx)
        else:
            ok, reason = rule.when.matches(ctx), "no match"
        if ok:
            if not explain:
                reason = rule.when.explain(ctx)
            action = f"route {rule.route}" if rule.route is not None else f"model {rule.model}"
            trace.append(TraceStep("routing", rule.id, True, f"{reason} -> {action}"))
            return rule
        trace.append(TraceStep("routing", rule.id, False, reason))
    return None


def _rewrite(
    snapshot: Snapshot,
    request: Mapping[str, Any],
    headers: Mapping[str, str],
    features: Features,
    route: str | None,
    target: ResolvedModel,
    trace: list[TraceStep],
    explain: bool,
) -> dict[str, Any]:
    current: dict[str, Any] = dict(request)
    for rule in snapshot.rewrite_rules:
        # Each rule sees the request as the previous rules left it (`map` reads this, not its own edits).
        ctx = RuleContext(current, headers, features, route, target)
        ok, reason = evaluate(rule.when, ctx) if explain else (rule.when.matches(ctx), "")
        if not ok:
            if explain:
                trace.append(TraceStep("rewrite", rule.id, False, reason))
            continue
        for action in rule.actions:
            current = action.apply(current, ctx)
        trace.append(TraceStep("rewrite", rule.id, True, reason or rule.when.explain(ctx)))
    out = _finalize(current, target, features.model)
    clamp_max_tokens(out, target, features)
    return out


def _finalize(request: dict[str, Any], target: ResolvedModel, requested_model: str) -> dict[str, Any]:
    out = dict(request)
    out["model"] = target.upstream_model if target.upstream_model is not None else requested_model
    for key, value in target.params.items():
        out[key] = fresh(value)
    if target.extra_body:
        out = merge_patch(out, target.extra_body)
    return out


def retarget(snapshot: Snapshot, decision: Decision, alias: str) -> Decision:
    """The same request for fallback `alias`: rewrite rules re-run for the new target, from the client's
    original request. The remaining fallbacks are those after `alias`."""
    target = snapshot.models.get(alias)
    if target is None:
        raise ProxyError(404, f"fallback model alias {alias!r} is not configured", should_retry=False)
    aliases = [f.alias for f in decision.fallbacks]
    remaining = decision.fallbacks[aliases.index(alias) + 1 :] if alias in aliases else decision.fallbacks
    features = decision.features
    trace = [*decision.trace, TraceStep("fallback", None, True, f"{decision.target.alias} failed: trying {alias}")]
    rewritten = _rewrite(snapshot, features.request, features.headers, features, decision.route, target, trace, False)
    return replace(decision, target=target, fallbacks=remaining, request=rewritten, trace=tuple(trace))
