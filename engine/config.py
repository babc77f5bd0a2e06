"""Typed models of `cc-proxy.json` (frozen, unknown keys rejected); the JSON Schema editors use is
generated from them (engine.json_schema), so the two cannot disagree.

Field descriptions are what an editor shows while you type: keep them short and exact.
`null` is never a valid value: leave a key out to get its default.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from annotated_types import Ge, Le
from cc_proxy.engine.config_types import COUNT_PATTERN, URL_PATTERN, Count, Name, NonEmpty, Seconds, Strict, parse_count
from cc_proxy.engine.inline_profile import InlineProfile
from cc_proxy.engine.profiles import WireFormat
from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr

__all__ = ["COUNT_PATTERN", "ConfigFile", "InlineProfile", "parse_count"]


# --- server --------------------------------------------------------------------------------------------------


class LimitsConfig(Strict):
    """Request limits."""

    max_body: Count = Field(
        default=32 * 1024 * 1024, description='Largest request body accepted (413 above), e.g. "32MiB".'
    )
    max_in_flight: Annotated[StrictInt, Ge(1)] = Field(
        default=512, description="Requests handled at once; above it the proxy answers 529 overloaded at once."
    )


class TimeoutsConfig(Strict):
    """Upstream timeouts, in seconds."""

    connect: Seconds = Field(default=5.0, description="Connecting to the upstream.")
    first_byte: Seconds = Field(default=60.0, description="Until the first byte of a streaming answer.")
    first_byte_nonstream: Seconds = Field(default=600.0, description="Until the first byte of a non-streaming answer.")
    idle: Seconds = Field(default=150.0, description="Longest silence inside a streaming answer.")
    ping_interval: Seconds = Field(
        default=15.0, description="Keep-alive `ping` events sent to the client while waiting."
    )


class RetriesConfig(Strict):
    """Retries of failures before the first byte (429, 5xx, connection errors), with jittered back-off."""

    max: Annotated[StrictInt, Ge(0), Le(10)] = Field(
        default=2, description="Retries after the first attempt (an attempt is one request sent to an upstream)."
    )
    # The old name of `max`, same meaning: still loaded, with a `deprecated-key` warning (engine.resolve).
    attempts: Annotated[StrictInt, Ge(0), Le(10)] | None = Field(
        default=None,
        description="Deprecated: the old name of `max` (same meaning).",
        json_schema_extra={"deprecated": True},
    )
    base: Annotated[StrictFloat, Ge(0)] = Field(default=0.5, description="First back-off, in seconds.")
    cap: Annotated[StrictFloat, Ge(0)] = Field(default=8.0, description="Longest back-off, in seconds.")


class UsageConfig(Strict):
    """The usage history: one SQLite row per finished request (tokens, cost, timing; never bodies)."""

    enabled: StrictBool = Field(default=True, description="Record requests (false: no database is written).")
    path: NonEmpty | None = Field(
        default=None,
        description="Database file; relative to this file. Left out: usage.sqlite3 in the user's data directory.",
    )
    retention_days: Annotated[StrictFloat | StrictInt, Ge(0)] = Field(
        default=90, description="Rows older than this are deleted (0: kept forever)."
    )


class TracesConfig(Strict):
    """OpenTelemetry traces (needs `pip install 'cc-proxy[traces]'`): one span per request, GenAI conventions."""

    endpoint: StrictStr = Field(
        pattern=URL_PATTERN, description='OTLP/HTTP traces URL, e.g. "http://127.0.0.1:4318/v1/traces".'
    )
    service_name: Name = Field(default="cc-proxy", description="The spans' service.name.")


class ServerConfig(Strict):
    """How the proxy listens."""

    host: Name = Field(default="127.0.0.1", description="Listen address; a non-loopback host requires auth_token.")
    port: Annotated[StrictInt, Ge(0), Le(65535)] = Field(default=3456, description="Listen port (0: any free port).")
    auth_token: NonEmpty | None = Field(
        default=None,
        description='Key clients must send (x-api-key or Bearer); usually "${CC_PROXY_TOKEN}".',
    )
    mount_prefix: StrictStr = Field(
        default="", pattern=r"^(/[^/?#\s]+)*$", description='Path prefix the API is served under, e.g. "/anthropic".'
    )
    response_model: Literal["requested", "upstream"] = Field(
        default="requested",
        description='"requested": answers carry the model the client asked for; "upstream": the upstream\'s name.',
    )
    count_tokens: Literal["local", "upstream"] = Field(
        default="local",
        description='"local": estimate; "upstream": ask an Anthropic-format target\'s /v1/messages/count_tokens.',
    )
    limits: LimitsConfig = Field(default_factory=lambda: LimitsConfig.model_validate({}))
    timeouts: TimeoutsConfig = Field(default_factory=lambda: TimeoutsConfig.model_validate({}))
    retries: RetriesConfig = Field(default_factory=lambda: RetriesConfig.model_validate({}))
    usage: UsageConfig = Field(default_factory=lambda: UsageConfig.model_validate({}))
    traces: TracesConfig | None = Field(default=None, description="OpenTelemetry traces; left out: off.")


# --- providers -----------------------------------------------------------------------------------------------


class ProviderConfig(Strict):
    """An upstream endpoint and how to talk to it."""

    format: WireFormat = Field(description="Wire format the upstream speaks.")
    base_url: StrictStr = Field(
        pattern=URL_PATTERN,
        description='Endpoint root without the API path, e.g. "https://api.anthropic.com" or ".../v1" (OpenAI).',
    )
    api_key: NonEmpty | Annotated[list[NonEmpty], Field(min_length=1, max_length=64)] | None = Field(
        default=None,
        description='"${ENV_VAR}" (recommended), a literal key, "forward" (send the client\'s own key), or a '
        'list of keys (a pool: each session sticks to one key, a rate-limited key is rested).',
    )
    headers: dict[StrictStr, StrictStr] = Field(
        default_factory=dict, description="Headers added to every upstream request; values may use ${ENV_VAR}."
    )
    profile: Name | InlineProfile | None = Field(
        default=None,
        description='What the upstream accepts: a built-in profile name ("anthropic", "anthropic-compatible", '
        '"openai", "openai-responses", "openrouter", "deepseek", "groq", "ollama", "vllm", "llamacpp", "gemini", '
        '"gemini-3", "gemini-vertex") or {"extends": ..., ...}. Default: "anthropic", "openai-compatible", '
        '"openai-responses" or "gemini" by format.',
    )


# --- models and routes -------------------------------------------------------------------------------------


class CapabilitiesConfig(Strict):
    """What the model can take; requests needing more are routed elsewhere or cleaned up."""

    tools: StrictBool = Field(default=True, description="Accepts tool definitions.")
    images: StrictBool = Field(default=True, description="Accepts image input.")
    thinking: StrictBool = Field(default=True, description="Supports thinking / reasoning.")


class PriceConfig(Strict):
    """What the model costs, in USD per million tokens (a shipped default covers well-known models)."""

    input: Annotated[StrictFloat | StrictInt, Ge(0)] = Field(description="Input tokens (not cached).")
    output: Annotated[StrictFloat | StrictInt, Ge(0)] = Field(description="Output tokens (reasoning included).")
    cache_read: Annotated[StrictFloat | StrictInt, Ge(0)] | None = Field(
        default=None, description="Cache reads; left out: the input price."
    )
    cache_write: Annotated[StrictFloat | StrictInt, Ge(0)] | None = Field(
        default=None, description="Cache writes; left out: the input price."
    )


class ModelConfig(Strict):
    """A model alias: which provider, which upstream model name, its limits."""

    provider: Name = Field(description="A key of `providers`.")
    model: Name | None = Field(
        default=None, description="Upstream model name; left out: the client's model name is sent."
    )
    max_tokens: Count | None = Field(
        default=None, description='Output token limit, e.g. "64k"; `clamp` rewrites clamp to it.'
    )
    context: Count | None = Field(default=None, description='Context window in tokens, e.g. "200k".')
    capabilities: CapabilitiesConfig = Field(default_factory=lambda: CapabilitiesConfig.model_validate({}))
    params: dict[StrictStr, Any] = Field(
        default_factory=dict, description='Request fields set on every request, e.g. {"reasoning_effort": "high"}.'
    )
    extra_body: dict[StrictStr, Any] = Field(
        default_factory=dict, description="Merged into the upstream body as the very last step."
    )
    price: PriceConfig | None = Field(
        default=None,
        description='USD per million tokens, e.g. {"input": 3, "output": 15, "cache_read": 0.3, "cache_write": 3.75}; '
        "left out: the shipped default for the upstream model, if any (else cost is null).",
    )


class RouteConfig(Strict):
    """A route: a model alias and the aliases tried when it fails before the first byte."""

    model: Name = Field(description="A key of `models`.")
    fallbacks: tuple[Name, ...] = Field(default=(), description="Model aliases tried in order when the model fails.")


HOOK_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"


class HooksConfig(Strict):
    """Python functions called on every request (docs/configuration.md, "Python hooks")."""

    request: StrictStr | None = Field(
        default=None,
        pattern=HOOK_PATTERN,
        description='"module:function" given the decided request (Anthropic form) before translation.',
    )
    response: StrictStr | None = Field(
        default=None,
        pattern=HOOK_PATTERN,
        description='"module:function" given the finished answer, or each event of a stream.',
    )

    def refs(self) -> dict[str, str]:
        return {kind: ref for kind in ("request", "response") if (ref := getattr(self, kind)) is not None}


class ConfigFile(Strict):
    """cc-proxy configuration: see docs/configuration.md."""

    schema_: StrictStr | None = Field(default=None, alias="$schema", description="JSON Schema for editors.")
    server: ServerConfig = Field(default_factory=lambda: ServerConfig.model_validate({}))
    providers: dict[StrictStr, ProviderConfig] = Field(default_factory=dict, description="Upstreams by name.")
    models: dict[StrictStr, ModelConfig] = Field(default_factory=dict, description="Model aliases.")
    routes: dict[StrictStr, Name | RouteConfig] = Field(
        default_factory=dict,
        description="Route name -> model alias (or {model, fallbacks}). Standard names: default, background, "
        "think, longContext, webSearch, image; any other name is yours.",
    )
    rules: tuple[Name, ...] = Field(
        default=("builtin:default",),
        description='Rule files, relative to this file; globs allowed; "builtin:NAME" loads a shipped one. '
        'Left out: ["builtin:default"].',
    )
    hooks: HooksConfig | None = Field(
        default=None, description="Python hooks: modules next to this file or on PYTHONPATH (the escape hatch)."
    )


# The configuration used when no cc-proxy.json exists (docs/configuration.md, "Built-in default").
BUILTIN_DEFAULT_CONFIG: dict[str, Any] = {
    "providers": {
        "anthropic": {
            "format": "anthropic",
            "base_url": "https://api.anthropic.com",
            "api_key": "forward",
            "profile": "anthropic",
        }
    },
    "models": {"anthropic": {"provider": "anthropic"}},
    "routes": {"default": "anthropic"},
    "rules": ["builtin:default"],
}
