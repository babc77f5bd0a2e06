"""The immutable, fully resolved configuration the server serves from.

`engine.load` builds a Snapshot from bytes (or reports every problem); the server swaps it in with one
assignment. Everything here is compiled at load: rules, JMESPath, regexes, model limits, references.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from cc_proxy.engine.errors import ConfigProblem
from cc_proxy.engine.profiles import Profile, WireFormat
from cc_proxy.engine.usage import Price

STANDARD_ROUTES: tuple[str, ...] = (
    "default",
    "background",
    "subagent",
    "think",
    "longContext",
    "webSearch",
    "image",
)


@dataclass(frozen=True, slots=True)
class ApiKey:
    """How the upstream credential is obtained. `value` is a secret: never log or render it."""

    kind: Literal["env", "literal", "forward", "none"]
    value: str | None = field(default=None, repr=False)
    env_name: str | None = None  # for kind == "env": the variable's name (safe to show)
    position: int = 1  # 1-based place in a configured list of keys: how logs and /health name it

    @property
    def configured(self) -> bool:
        """False when an `${ENV}` key is unset: the target must not be called with an empty key."""
        return self.kind in ("forward", "none") or bool(self.value)


@dataclass(frozen=True, slots=True)
class ResolvedProvider:
    name: str
    format: WireFormat
    base_url: str  # no trailing slash
    api_key: ApiKey
    headers: Mapping[str, str] = field(repr=False)  # extra headers, ${ENV} resolved; may hold secrets, never logged
    profile: Profile
    # Every usable configured key, in order (`api_key` is the first): more than one makes a key pool.
    keys: tuple[ApiKey, ...] = field(default=(), repr=False)


@dataclass(frozen=True, slots=True)
class Capabilities:
    tools: bool = True
    images: bool = True
    thinking: bool = True


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    alias: str
    provider: ResolvedProvider
    upstream_model: str | None  # None: the client's model name is sent as is
    max_tokens: int | None = None
    context: int | None = None
    capabilities: Capabilities = Capabilities()
    params: Mapping[str, Any] = field(default_factory=dict)
    extra_body: Mapping[str, Any] = field(default_factory=dict)
    # cc-proxy.json's `price`, else the shipped default of `upstream_model`; None: unknown (or decided
    # per request from the client's model name when upstream_model is None)
    price: Price | None = None
    price_configured: bool = False  # `price` came from cc-proxy.json: it holds for any model name


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    model: str  # alias
    fallbacks: tuple[str, ...] = ()


class MatchContext(Protocol):
    """What a compiled condition may look at. Features are computed lazily, only when asked for."""

    @property
    def request(self) -> Mapping[str, Any]: ...
    @property
    def headers(self) -> Mapping[str, str]: ...  # lower-case names
    @property
    def features(self) -> Any: ...  # engine.features.Features
    # Set only while evaluating rewrite rules (None during routing):
    @property
    def route(self) -> str | None: ...
    @property
    def target(self) -> ResolvedModel | None: ...


class Condition(Protocol):
    """A compiled `when`. `explain` says why it did or did not match, for traces and `explain`."""

    def matches(self, ctx: MatchContext) -> bool: ...
    def explain(self, ctx: MatchContext) -> str: ...


class RewriteAction(Protocol):
    def apply(self, request: dict[str, Any], ctx: MatchContext) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class RoutingRule:
    id: str
    file: str
    json_path: str
    when: Condition
    route: str | None = None  # exactly one of route / model
    model: str | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class RewriteRule:
    id: str
    file: str
    json_path: str
    when: Condition
    actions: tuple[RewriteAction, ...]
    description: str = ""


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 3456
    auth_token: str | None = field(default=None, repr=False)
    mount_prefix: str = ""
    response_model: Literal["requested", "upstream"] = "requested"
    count_tokens: Literal["local", "upstream"] = "local"
    max_body: int = 32 * 1024 * 1024
    max_in_flight: int = 512
    connect_timeout: float = 5.0
    first_byte_timeout: float = 60.0
    first_byte_timeout_nonstream: float = 600.0
    idle_timeout: float = 150.0
    ping_interval: float = 15.0
    retry_max: int = 2  # retries after the first attempt (config `retries.max`)
    retry_base: float = 0.5
    retry_cap: float = 8.0
    usage_enabled: bool = True
    usage_path: str | None = None  # as written in the config; the server resolves it (server/observe/usage_db.py)
    usage_retention_days: float = 90.0
    traces_endpoint: str | None = None  # OTLP/HTTP traces URL; None: no traces
    traces_service_name: str = "cc-proxy"


@dataclass(frozen=True, slots=True)
class Snapshot:
    version: str  # short content hash of every loaded file: the same input gives the same version
    config_file: str | None  # None: the built-in default
    rule_files: tuple[str, ...]
    server: ServerSettings
    providers: Mapping[str, ResolvedProvider]
    models: Mapping[str, ResolvedModel]
    routes: Mapping[str, Route]
    routing_rules: tuple[RoutingRule, ...]
    rewrite_rules: tuple[RewriteRule, ...]
    warnings: tuple[ConfigProblem, ...] = ()
    # The imported Python hooks (server/hooks.py's Hooks), set by the server's loader: the engine only
    # carries them, so a reload swaps them with the rest of the config in one assignment.
    hooks: Any = None
