"""cc-proxy.json model -> resolved providers, models, routes and server settings.

`check_config` finds every reference problem inside the config file (unknown provider, alias, profile,
fallback cycle); `resolve` then builds the snapshot parts, reading `${ENV}` references from the
environment it is given. An unset key is a warning and leaves that provider unconfigured (it is never
called with an empty key); values never appear in a message, only variable names.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, get_args
from urllib.parse import urlsplit

from cc_proxy.engine.config import ConfigFile, ModelConfig, ProviderConfig
from cc_proxy.engine.errors import ConfigProblem
from cc_proxy.engine.json_source import index_path, key_path
from cc_proxy.engine.prices import default_price
from cc_proxy.engine.profiles import BUILTIN_PROFILES, Profile, WireFormat
from cc_proxy.engine.snapshot import (
    STANDARD_ROUTES,
    ApiKey,
    Capabilities,
    ResolvedModel,
    ResolvedProvider,
    Route,
    ServerSettings,
)
from cc_proxy.engine.source import Locator
from cc_proxy.engine.suggest import did_you_mean
from cc_proxy.engine.usage import Price
from cc_proxy.engine.wire.formats import wire_formats

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_EDGE_WHITESPACE = " \t\r\n"
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_DEFAULT_PROFILE: dict[WireFormat, str] = {
    "anthropic": "anthropic",
    "openai": "openai-compatible",
    "openai-responses": "openai-responses",
    "gemini": "gemini",
}


def _path(*parts: str | int) -> str:
    path = "$"
    for part in parts:
        path = index_path(path, part) if isinstance(part, int) else key_path(path, part)
    return path


def base_profile(provider: ProviderConfig) -> tuple[str | None, str | None]:
    """(built-in profile name, or None for a format without one; the inline `extends`, if any)."""
    if isinstance(provider.profile, str):
        return provider.profile, None
    if provider.profile is not None:
        return provider.profile.extends, provider.profile.extends
    return _DEFAULT_PROFILE.get(provider.format), None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def check_config(raw: Mapping[str, Any], loc: Locator) -> list[ConfigProblem]:
    """Reference and consistency problems inside cc-proxy.json. Works on the raw JSON, skipping what is
    malformed, so these are reported together with schema errors."""
    problems: list[ConfigProblem] = []
    providers, models, routes = _mapping(raw.get("providers")), _mapping(raw.get("models")), _mapping(raw.get("routes"))
    for name, provider in providers.items():
        problems.extend(_check_provider(name, _mapping(provider), loc))
    for alias, model in models.items():
        if "," in alias:
            problems.append(loc.problem(_path("models", alias), "invalid-name", "model aliases cannot contain ','"))
        target = _mapping(model).get("provider")
        if isinstance(target, str) and target not in providers:
            message = f"model {alias!r} names unknown provider {target!r}{did_you_mean(target, providers)}"
            problems.append(loc.problem(_path("models", alias, "provider"), "unknown-provider", message))
    for route_name, route in routes.items():
        problems.extend(_check_route(models, route_name, route, loc))
    if isinstance(raw.get("routes", {}), Mapping) and "default" not in routes:
        message = "no `default` route: requests no rule routes get 404 not_found_error"
        problems.append(loc.problem(_path("routes"), "no-default-route", message, "warning"))
    server = _mapping(raw.get("server"))
    problems.extend(_check_retries(_mapping(server.get("retries")), loc))
    host = server.get("host", "127.0.0.1")
    if "auth_token" not in server and isinstance(host, str) and not _is_loopback(host):
        message = f"host {host!r} is not loopback and no auth_token is set: `serve` refuses to start"
        problems.append(loc.problem(_path("server", "host"), "insecure-host", message, "warning"))
    return problems


def _check_retries(retries: Mapping[str, Any], loc: Locator) -> list[ConfigProblem]:
    """`retries.attempts` is the old name of `retries.max` (it counted retries, while everywhere else an
    attempt is one request sent to an upstream): still loaded, with a warning; both at once is ambiguous."""
    if "attempts" not in retries:
        return []
    at = _path("server", "retries", "attempts")
    if "max" in retries:
        message = "`retries.attempts` is the old name of `retries.max`: give only `max`"
        return [loc.problem(at, "conflicting-keys", message)]
    message = "`retries.attempts` is deprecated: rename it `retries.max` (same value: retries after the first attempt)"
    return [loc.problem(at, "deprecated-key", message, "warning")]


def _cleartext_key_warning(name: str, base_url: str, api_key: ApiKey, loc: Locator) -> list[ConfigProblem]:
    """A key sent over plain http leaves this machine readable by anyone on the path (reliability X6).
    A warning, not an error: a local-network Ollama or vLLM without TLS is a common, deliberate set-up."""
    url = urlsplit(base_url)
    if url.scheme != "http" or _is_loopback(url.hostname or "") or api_key.kind == "none":
        return []
    message = (
        f"provider {name!r} sends its key over plain http to {url.hostname!r}, which is not this machine: "
        "use https unless the network path is trusted"
    )
    return [loc.problem(_path("providers", name, "base_url"), "insecure-base-url", message, "warning")]


def _is_loopback(host: str) -> bool:
    bare = host.strip("[]")
    if bare == "localhost":
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False


def _check_provider(name: str, provider: Mapping[str, Any], loc: Locator) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    if "," in name:
        problems.append(loc.problem(_path("providers", name), "invalid-name", "provider names cannot contain ','"))
    profile, wire_format = provider.get("profile"), provider.get("format")
    formats = wire_formats()  # a value the schema knows but no module speaks (unknown ones: schema errors)
    if wire_format in get_args(WireFormat) and wire_format not in formats:
        message = f"format {wire_format!r} has no wire module in this version (formats: {', '.join(formats)})"
        problems.append(loc.problem(_path("providers", name, "format"), "unsupported-format", message))
    at = _path("providers", name, "profile")
    if isinstance(profile, Mapping):
        profile, at = profile.get("extends"), key_path(at, "extends")
    if isinstance(profile, str):
        if profile not in BUILTIN_PROFILES:
            hint = did_you_mean(profile, BUILTIN_PROFILES)
            problems.append(loc.problem(at, "unknown-profile", f"unknown profile {profile!r}{hint}"))
        elif isinstance(wire_format, str) and BUILTIN_PROFILES[profile].format != wire_format:
            message = f"profile {profile!r} is for the {BUILTIN_PROFILES[profile].format} format, not {wire_format}"
            problems.append(loc.problem(at, "profile-format", message))
    keys = provider.get("api_key")
    for i, key in enumerate(keys if isinstance(keys, list) else ()):
        if key == "forward":
            message = '"forward" cannot be in a list of keys: a client\'s own key is never pooled with configured ones'
            problems.append(loc.problem(_path("providers", name, "api_key", i), "forward-in-pool", message))
    for header in _mapping(provider.get("headers")):
        if not _HEADER_NAME.match(header):
            at = _path("providers", name, "headers", header)
            problems.append(loc.problem(at, "invalid-header", f"{header!r} is not a valid header name"))
    return problems


def _check_route(models: Mapping[str, Any], name: str, route: Any, loc: Locator) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    model = route if isinstance(route, str) else _mapping(route).get("model")
    at = _path("routes", name) if isinstance(route, str) else _path("routes", name, "model")
    if isinstance(model, str) and model not in models:
        message = f"route {name!r} names unknown model alias {model!r}{did_you_mean(model, models)}"
        problems.append(loc.problem(at, "unknown-model", message))
    fallbacks = _mapping(route).get("fallbacks")
    seen = {model}
    for i, fallback in enumerate(fallbacks if isinstance(fallbacks, list) else ()):
        at = _path("routes", name, "fallbacks", i)
        if not isinstance(fallback, str):
            continue
        if fallback not in models:
            message = f"fallback {fallback!r} is not a model alias{did_you_mean(fallback, models)}"
            problems.append(loc.problem(at, "unknown-model", message))
        elif fallback in seen:
            message = f"fallback {fallback!r} is already tried earlier on route {name!r} (a cycle)"
            problems.append(loc.problem(at, "fallback-cycle", message))
        seen.add(fallback)
    return problems


# --- resolution ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Resolved:
    server: ServerSettings
    providers: Mapping[str, ResolvedProvider]
    models: Mapping[str, ResolvedModel]
    routes: Mapping[str, Route]
    problems: tuple[ConfigProblem, ...]
    env_used: tuple[tuple[str, str | None], ...]  # (name, value) of every ${ENV} read, for the version hash


class _Env:
    """Reads `${NAME}` references, remembering what was read."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self.used: dict[str, str | None] = {}
        self.stripped: set[str] = set()  # names whose value came with whitespace at an end

    def expand(self, text: str) -> tuple[str | None, list[str]]:
        """The text with every reference replaced, or None and the names that are unset (or empty)."""
        missing: list[str] = []

        def one(m: re.Match[str]) -> str:
            raw = self._env.get(m.group(1))
            value = raw.strip(_EDGE_WHITESPACE) if raw else None
            if raw and value != raw:
                self.stripped.add(m.group(1))
            value = value or None
            self.used[m.group(1)] = value
            if value is None:
                missing.append(m.group(1))
            return value or ""

        expanded = ENV_REF.sub(one, text)
        return (None, missing) if missing else (expanded, [])


def _profile(name: str, provider: ProviderConfig) -> Profile:
    base, extends = base_profile(provider)
    if base is None:
        return Profile(name=provider.format, format=provider.format)
    profile = BUILTIN_PROFILES[base]
    if extends is not None and not isinstance(provider.profile, str) and provider.profile is not None:
        profile = replace(profile, name=f"{name} (extends {extends})", **provider.profile.overrides())
    return profile


def _header_value_problems(raw: str, value: str, at: str, what: str, env: _Env, loc: Locator) -> list[ConfigProblem]:
    """A value that goes into a header: whitespace at an end of a variable (a `.env` saved on Windows
    ends every line with CR) was stripped, a warning naming it; a control character left inside (CR,
    LF, NUL...) cannot be sent at all, an error naming where it came from. Never the value itself."""
    names = ENV_REF.findall(raw)
    problems = [
        loc.problem(at, "env-whitespace", f"environment variable {n} starts or ends with whitespace (CR, LF, tab or "
                    f"space; a .env file saved on Windows?): stripped, {what} uses the rest", "warning")
        for n in dict.fromkeys(names)
        if n in env.stripped
    ]
    if _CONTROL_CHARACTER.search(value):
        source = f"environment variable {', '.join(dict.fromkeys(names))}" if names else "its value in the config"
        message = f"{what}: {source} holds a control character (CR, LF, NUL...), which cannot be sent in a header"
        problems.append(loc.problem(at, "control-character", message))
    return problems


def _api_key(
    name: str, raw: str | None, env: _Env, loc: Locator, position: int = 0
) -> tuple[ApiKey, list[ConfigProblem]]:
    """One key; `position` > 0: the 1-based place of a key in a list (a pool)."""
    if raw is None:
        return ApiKey("none"), []
    if raw == "forward":
        return ApiKey("forward"), []
    at = _path("providers", name, "api_key", position - 1) if position else _path("providers", name, "api_key")
    place = max(position, 1)
    what = f"provider {name!r} api_key" + (f" {position}" if position else "")
    refs = ENV_REF.findall(raw)
    if not refs:
        return ApiKey("literal", raw, position=place), _header_value_problems(raw, raw, at, what, env, loc)
    value, missing = env.expand(raw)
    if value is None:
        names = ", ".join(missing)
        message = (
            f"environment variable {names} is not set: key {position} of provider {name!r} is left out of its pool"
            if position
            else f"environment variable {names} is not set: provider {name!r} is unconfigured until it is"
        )
        return ApiKey("env", None, missing[0], place), [loc.problem(at, "unset-env", message, "warning")]
    return ApiKey("env", value, refs[0], place), _header_value_problems(raw, value, at, what, env, loc)


def _api_keys(
    name: str, raw: str | list[str] | None, env: _Env, loc: Locator
) -> tuple[ApiKey, tuple[ApiKey, ...], list[ConfigProblem]]:
    """(the provider's key, every usable key in order, problems). A list is a pool: its unset keys are
    left out; with none set, the provider is unconfigured as a single unset key would leave it."""
    if not isinstance(raw, list):
        key, found = _api_key(name, raw, env, loc)
        return key, ((key,) if key.kind in ("literal", "env") and key.value else ()), found
    problems: list[ConfigProblem] = []
    keys: list[ApiKey] = []
    for position, item in enumerate(raw, 1):
        key, found = _api_key(name, item, env, loc, position)
        problems.extend(found)
        keys.append(key)
    usable = tuple(k for k in keys if k.value)
    return (usable[0] if usable else keys[0]), usable, problems


def resolve(config: ConfigFile, env_map: Mapping[str, str], loc: Locator) -> Resolved:
    env = _Env(env_map)
    problems: list[ConfigProblem] = []
    providers: dict[str, ResolvedProvider] = {}
    for name, p in config.providers.items():
        api_key, keys, key_problems = _api_keys(name, p.api_key, env, loc)
        problems.extend(key_problems)
        headers: dict[str, str] = {}
        for header, raw in p.headers.items():
            value, missing = env.expand(raw)
            if value is None:
                message = f"environment variable {', '.join(missing)} is not set: header {header!r} is not sent"
                at = _path("providers", name, "headers", header)
                problems.append(loc.problem(at, "unset-env", message, "warning"))
            else:
                headers[header] = value
                at = _path("providers", name, "headers", header)
                problems.extend(_header_value_problems(raw, value, at, f"header {header!r}", env, loc))
        problems.extend(_cleartext_key_warning(name, p.base_url, api_key, loc))
        base_url = p.base_url.rstrip("/")
        providers[name] = ResolvedProvider(name, p.format, base_url, api_key, headers, _profile(name, p), keys)
    models = {
        alias: ResolvedModel(
            alias=alias,
            provider=providers[m.provider],
            upstream_model=m.model,
            max_tokens=m.max_tokens,
            context=m.context,
            capabilities=Capabilities(m.capabilities.tools, m.capabilities.images, m.capabilities.thinking),
            params=dict(m.params),
            extra_body=dict(m.extra_body),
            price=_price(m),
            price_configured=m.price is not None,
        )
        for alias, m in config.models.items()
    }
    routes = {
        name: Route(name, r, ()) if isinstance(r, str) else Route(name, r.model, r.fallbacks)
        for name, r in config.routes.items()
    }
    s = config.server
    auth_token = None
    if s.auth_token is not None:
        auth_token, missing = env.expand(s.auth_token)
        at = _path("server", "auth_token")
        if auth_token is None:
            message = f"environment variable {', '.join(missing)} is not set: refusing to run without the client key"
            problems.append(loc.problem(at, "unset-env", message))
        else:  # compared with what clients send in a header: the same rules
            problems.extend(_header_value_problems(s.auth_token, auth_token, at, "server.auth_token", env, loc))
    server = ServerSettings(
        host=s.host,
        port=s.port,
        auth_token=auth_token,
        mount_prefix=s.mount_prefix,
        response_model=s.response_model,
        count_tokens=s.count_tokens,
        max_body=s.limits.max_body,
        max_in_flight=s.limits.max_in_flight,
        connect_timeout=s.timeouts.connect,
        first_byte_timeout=s.timeouts.first_byte,
        first_byte_timeout_nonstream=s.timeouts.first_byte_nonstream,
        idle_timeout=s.timeouts.idle,
        ping_interval=s.timeouts.ping_interval,
        retry_max=s.retries.max if s.retries.attempts is None else s.retries.attempts,
        retry_base=s.retries.base,
        retry_cap=s.retries.cap,
        usage_enabled=s.usage.enabled,
        usage_path=s.usage.path,
        usage_retention_days=float(s.usage.retention_days),
        traces_endpoint=s.traces.endpoint if s.traces is not None else None,
        traces_service_name=s.traces.service_name if s.traces is not None else "cc-proxy",
    )
    return Resolved(server, providers, models, routes, tuple(problems), tuple(sorted(env.used.items())))


def is_standard_route(name: str) -> bool:
    return name in STANDARD_ROUTES


def _price(model: ModelConfig) -> Price | None:
    """The configured price (cache prices default to the input price), else the shipped one."""
    p = model.price
    if p is None:
        return default_price(model.model) if model.model is not None else None
    cache_read = p.input if p.cache_read is None else p.cache_read
    cache_write = p.input if p.cache_write is None else p.cache_write
    return Price(float(p.input), float(p.output), float(cache_read), float(cache_write))
