"""Shared test helpers: targets, contexts and deterministic ids for the OpenAI-dialect tests."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import fields, replace
from typing import Any

from cc_proxy.engine.profiles import BUILTIN_PROFILES, Profile
from cc_proxy.engine.snapshot import ApiKey, Capabilities, ResolvedModel, ResolvedProvider
from cc_proxy.engine.wire.types import TranslationContext


def make_profile(spec: str | Mapping[str, Any] = "openai") -> Profile:
    """A built-in profile by name, or `{"extends": name, ...overrides}` like the config's inline one."""
    if isinstance(spec, str):
        return BUILTIN_PROFILES[spec]
    overrides = dict(spec)
    base = BUILTIN_PROFILES[overrides.pop("extends", "openai")]
    names = {f.name for f in fields(Profile)}
    unknown = set(overrides) - names
    assert not unknown, f"unknown profile fields {unknown}"
    converted = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
    return replace(base, **converted)


def make_target(
    profile: str | Mapping[str, Any] = "openai",
    *,
    upstream_model: str | None = "gpt-test",
    max_tokens: int | None = None,
    capabilities: Mapping[str, bool] | None = None,
    extra_body: Mapping[str, Any] | None = None,
) -> ResolvedModel:
    prof = make_profile(profile)
    provider = ResolvedProvider(
        name="up",
        format=prof.format,
        base_url="http://127.0.0.1:9/v1",
        api_key=ApiKey(kind="none"),
        headers={},
        profile=prof,
    )
    return ResolvedModel(
        alias="m",
        provider=provider,
        upstream_model=upstream_model,
        max_tokens=max_tokens,
        capabilities=Capabilities(**(capabilities or {})),
        extra_body=dict(extra_body or {}),
    )


def counter_ids() -> Callable[[str], str]:
    counter = itertools.count(1)
    return lambda prefix: f"{prefix}{next(counter):04d}"


def make_ctx(target: ResolvedModel, **kw: Any) -> TranslationContext:
    return TranslationContext(
        requested_model=kw.get("requested_model", "claude-test"),
        target=target,
        response_model=kw.get("response_model", "claude-test"),
        new_id=counter_ids(),
        input_tokens_estimate=kw.get("input_tokens_estimate", 0),
        stop_sequences=tuple(kw.get("stop_sequences", ())),
        context_management=kw.get("context_management"),
        omit_thinking=kw.get("omit_thinking", False),
    )
