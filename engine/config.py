"""Typed models of `cc-proxy.json` (frozen, unknown keys rejected); the JSON Schema editors use is
generated from them (engine.json_schema), so the two cannot disagree.

Field descriptions are what an editor shows while you type: keep them short and exact.
`null` is never a valid value: leave a key out to get its default.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from annotated_types import Ge, Le
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    model_validator,
)

from engine.profiles import WireFormat

# "8k" = 8,000, "200K", "1M", "1.5k"; binary "32Ki"/"32KiB"/"32MiB" = 32 * 1024**n (as engine.rules reads them)
COUNT_PATTERN = r"^\s*[0-9]+(\.[0-9]+)?\s*([kKmMgG]i?B?)?\s*$"
_COUNT = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(?:([kKmMgG])(i?)B?)?\s*")
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3}


def parse_count(text: str) -> int | None:
    """`"64k"` -> 64000, `"32MiB"` -> 33554432; None if `text` is not such a shorthand."""
    m = _COUNT.fullmatch(text)
    if m is None:
        return None
    number, unit, binary = m.groups()
    return int(float(number) * (1024 if binary else 1000) ** _POWERS[(unit or "").lower()])


def _coerce_count(value: Any) -> Any:
    if isinstance(value, str):
        count = parse_count(value)
        if count is None:
            raise ValueError('expected a number or a shorthand like "8k", "200K", "1M", "32MiB"')
        return count
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Count = Annotated[
    StrictInt,
    BeforeValidator(_coerce_count),
    Ge(0),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": COUNT_PATTERN},
            ]
        }
    ),
]
Seconds = Annotated[StrictFloat, Field(gt=0)]
Name = Annotated[StrictStr, Field(min_length=1, max_length=200)]
NonEmpty = Annotated[StrictStr, Field(min_length=1)]


class Strict(BaseModel):
    """Base of every config model: immutable, unknown keys rejected, `null` rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if value is None:
                    raise ValueError(f"{key!r} is null: leave the key out to use its default")
        return data


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

    attempts: Annotated[StrictInt, Ge(0), Le(10)] = Field(default=2, description="Retries after the first try.")
    base: Annotated[StrictFloat, Ge(0)] = Field(default=0.5, description="First back-off, in seconds.")
    cap: Annotated[StrictFloat, Ge(0)] = Field(default=8.0, description="Longest back-off, in seconds.")


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


# --- providers -----------------------------------------------------------------------------------------------

Globs = tuple[StrictStr, ...]


class InlineProfile(Strict):
    """A profile built from a built-in one with some fields changed. Mirrors engine.profiles.Profile
    (a test keeps the two in step)."""

    extends: Name = Field(description='Built-in profile to start from, e.g. "openai".')
    forward_headers: Globs | None = Field(
        default=None, description="Client headers forwarded upstream (lower-case globs)."
    )
    beta_allow: Globs | None = Field(default=None, description='`anthropic-beta` values forwarded (globs); ["*"]: all.')
    drop_fields: Globs | None = Field(default=None, description="Top-level request fields removed (anthropic format).")
    strip_cache_control: StrictBool | None = Field(default=None, description="Remove every `cache_control`.")
    drop_tool_fields: Globs | None = Field(default=None, description='Tool-definition fields removed, e.g. "strict".')
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] | None = Field(
        default=None, description="Which field carries the output limit (OpenAI format)."
    )
    reasoning_request: Literal["reasoning_effort", "reasoning", "thinking", "none"] | None = Field(
        default=None, description="How thinking is requested (OpenAI format)."
    )
    reasoning_response_fields: Globs | None = Field(
        default=None, description="Response fields that carry reasoning text."
    )
    reasoning_echo_field: StrictStr | None = Field(
        default=None, description="Assistant field reasoning is sent back in."
    )
    system_role: Literal["system", "developer"] | None = Field(default=None, description="Role of the system prompt.")
    stream_usage: StrictBool | None = Field(default=None, description="Send stream_options.include_usage.")
    send_user: StrictBool | None = Field(default=None, description="Send metadata.user_id as `user`.")
    send_parallel_tool_calls: StrictBool | None = Field(default=None, description="Send parallel_tool_calls.")
    reject_fields: Globs | None = Field(default=None, description="OpenAI-format request fields the upstream rejects.")
    split_think_tags: StrictBool | None = Field(
        default=None, description="Split inline <think>...</think> into thinking."
    )

    reasoning_efforts: Globs | None = Field(
        default=None, description='Reasoning effort levels accepted, lowest first, e.g. ["low", "medium", "high"].'
    )
    reasoning_echo_placeholder: StrictStr | None = Field(
        default=None, description="Sent on an assistant tool-call message that has no reasoning to echo."
    )
    schema_drop_keywords: Globs | None = Field(
        default=None, description="JSON Schema keywords removed from tool parameters."
    )
    send_top_k: StrictBool | None = Field(default=None, description="The upstream understands `top_k`.")
    max_stop_sequences: Annotated[StrictInt, Ge(0)] | None = Field(
        default=None, description="Most `stop` entries the upstream accepts."
    )

    def overrides(self) -> dict[str, Any]:
        """The fields given in the file (everything but `extends`)."""
        return {k: getattr(self, k) for k in self.model_fields_set if k != "extends"}


class ProviderConfig(Strict):
    """An upstream endpoint and how to talk to it."""

    format: WireFormat = Field(description="Wire format the upstream speaks.")
    base_url: StrictStr = Field(
        pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description='Endpoint root without the API path, e.g. "https://api.anthropic.com" or ".../v1" (OpenAI).',
    )
    api_key: NonEmpty | None = Field(
        default=None,
        description='"${ENV_VAR}" (recommended), a literal key, or "forward" (send the client\'s own key).',
    )
    headers: dict[StrictStr, StrictStr] = Field(
        default_factory=dict, description="Headers added to every upstream request; values may use ${ENV_VAR}."
    )
    profile: Name | InlineProfile | None = Field(
        default=None,
        description='What the upstream accepts: a built-in profile name ("anthropic", "anthropic-compatible", '
        '"openai", "openrouter", "deepseek", "groq", "ollama", "vllm", "llamacpp") or {"extends": ..., ...}. '
        'Default: "anthropic" or "openai-compatible" by format.',
    )


# --- models and routes -------------------------------------------------------------------------------------


class CapabilitiesConfig(Strict):
    """What the model can take; requests needing more are routed elsewhere or cleaned up."""

    tools: StrictBool = Field(default=True, description="Accepts tool definitions.")
    images: StrictBool = Field(default=True, description="Accepts image input.")
    thinking: StrictBool = Field(default=True, description="Supports thinking / reasoning.")


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


class RouteConfig(Strict):
    """A route: a model alias and the aliases tried when it fails before the first byte."""

    model: Name = Field(description="A key of `models`.")
    fallbacks: tuple[Name, ...] = Field(default=(), description="Model aliases tried in order when the model fails.")


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
