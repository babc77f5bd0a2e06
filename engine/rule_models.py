"""Typed models of rule files (docs/configuration.md, "Rule files"); schemas/rules.schema.json is
generated from them. They check shape only: engine.rules compiles the validated dict (regexes,
JMESPath, paths) and engine.load checks references (routes, model aliases) across files."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from cc_proxy.engine.config_types import Count, Name, NonEmpty, Strict
from cc_proxy.engine.profiles import WireFormat
from pydantic import ConfigDict, Field, StrictBool, StrictStr, model_validator

RuleId = Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$", max_length=100)]
_STRING_OPS = ("equals", "glob", "regex", "contains")


def _exactly_one(keys: tuple[str, ...]) -> dict[str, Any]:
    return {"oneOf": [{"required": [k]} for k in keys]}


def _at_least_one(keys: tuple[str, ...]) -> dict[str, Any]:
    return {"anyOf": [{"required": [k]} for k in keys]}


def _count_present(model: Strict, keys: tuple[str, ...]) -> int:
    fields = type(model).model_fields
    given = {fields[name].alias or name for name in model.model_fields_set}
    return sum(1 for k in keys if k in given)


class MatchSpec(Strict):
    """Exactly one of equals / glob / regex (RE2) / contains."""

    model_config = ConfigDict(json_schema_extra=_exactly_one(_STRING_OPS))

    equals: StrictStr | None = Field(default=None, description="The whole string equals this.")
    glob: StrictStr | None = Field(default=None, description="Shell glob: * any run, ? one character, [abc] a class.")
    regex: StrictStr | None = Field(
        default=None, description="RE2 regex found anywhere in the string (anchor with ^$)."
    )
    contains: StrictStr | None = Field(default=None, description="The string contains this.")

    @model_validator(mode="after")
    def _one_op(self) -> MatchSpec:
        if _count_present(self, _STRING_OPS) != 1:
            raise ValueError("exactly one of equals, glob, regex, contains")
        return self


StringMatch = StrictStr | MatchSpec


class TokensSpec(Strict):
    """Comparisons of the estimated input tokens (several: all must hold)."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    gt: Count | None = Field(default=None, alias=">")
    ge: Count | None = Field(default=None, alias=">=")
    lt: Count | None = Field(default=None, alias="<")
    le: Count | None = Field(default=None, alias="<=")
    eq: Count | None = Field(default=None, alias="==")

    @model_validator(mode="after")
    def _some(self) -> TokensSpec:
        if not self.model_fields_set:
            raise ValueError("at least one comparison")
        return self


_HEADER_TESTS = (*_STRING_OPS, "present")


class HeaderSpec(Strict):
    """A client request header (name case-insensitive) and one test of its value."""

    model_config = ConfigDict(json_schema_extra=_exactly_one(_HEADER_TESTS))

    name: Name = Field(description='Header name, e.g. "x-team".')
    equals: StrictStr | None = None
    glob: StrictStr | None = None
    regex: StrictStr | None = None
    contains: StrictStr | None = None
    present: StrictBool | None = Field(default=None, description="true: the header is sent; false: it is not.")

    @model_validator(mode="after")
    def _one_test(self) -> HeaderSpec:
        if _count_present(self, _HEADER_TESTS) != 1:
            raise ValueError("exactly one of equals, glob, regex, contains, present")
        return self


class _WhenBase(Strict):
    tokens: TokensSpec | None = Field(default=None, description='Estimated input tokens, e.g. {">": "60k"}.')
    model: StringMatch | None = Field(default=None, description="The model name the client sent (string: exact).")
    thinking: StrictBool | None = Field(default=None, description="Thinking is requested (enabled or adaptive).")
    tools: StrictBool | None = Field(default=None, description="The request has tools.")
    tool: StrictStr | None = Field(default=None, description="Some client tool's name matches this glob.")
    server_tool: StrictStr | None = Field(
        default=None, description='Some server tool\'s type matches this glob ("web_search*").'
    )
    images: StrictBool | None = Field(default=None, description="An image appears anywhere (also inside tool_result).")
    subagent: StrictBool | None = Field(
        default=None, description="A Claude Code subagent's turn (x-claude-code-agent-id, cc_is_subagent)."
    )
    session: StringMatch | None = Field(
        default=None, description="Claude Code's session id (x-claude-code-session-id; string: exact)."
    )
    kind: StringMatch | None = Field(
        default=None, description='What the request is for: "main", "compaction" or "side" (string: exact).'
    )
    header: HeaderSpec | None = None
    jmespath: NonEmpty | None = Field(default=None, description="JMESPath over the request body; truthy = match.")


class RoutingWhen(_WhenBase):
    """Conditions of a routing rule; all keys must hold."""

    all: tuple[RoutingWhen, ...] | None = Field(default=None, description="All of these match.")
    any: tuple[RoutingWhen, ...] | None = Field(default=None, description="At least one of these matches.")
    not_: RoutingWhen | None = Field(default=None, alias="not", description="This does not match.")


class RewriteWhen(_WhenBase):
    """Conditions of a rewrite rule: those of routing rules plus the chosen target; all keys must hold."""

    route: Name | None = Field(default=None, description="The chosen route (exact name).")
    target: StringMatch | None = Field(default=None, description="The chosen model alias.")
    provider: Name | None = Field(default=None, description="The chosen provider (exact name).")
    format: WireFormat | None = Field(
        default=None, description="The target's wire format."
    )
    upstream_model: StringMatch | None = Field(default=None, description="The upstream model name.")
    all: tuple[RewriteWhen, ...] | None = Field(default=None, description="All of these match.")
    any: tuple[RewriteWhen, ...] | None = Field(default=None, description="At least one of these matches.")
    not_: RewriteWhen | None = Field(default=None, alias="not", description="This does not match.")


class RoutingRuleModel(Strict):
    """Picks a route or a model alias; the first matching routing rule wins."""

    model_config = ConfigDict(json_schema_extra=_exactly_one(("route", "model")))

    id: RuleId = Field(description="Unique across all loaded rule files.")
    description: StrictStr | None = None
    when: RoutingWhen | None = Field(default=None, description="Left out: always matches.")
    route: Name | None = Field(default=None, description="Route name to use.")
    model: Name | None = Field(default=None, description="Model alias to use.")

    @model_validator(mode="after")
    def _one_action(self) -> RoutingRuleModel:
        if _count_present(self, ("route", "model")) != 1:
            raise ValueError("exactly one of route, model")
        return self


class ToolsFilter(Strict):
    """Keep only tools matching `allow`, then remove those matching `deny` (globs on names)."""

    model_config = ConfigDict(json_schema_extra=_at_least_one(("allow", "deny")))

    allow: tuple[StrictStr, ...] | None = None
    deny: tuple[StrictStr, ...] | None = None

    @model_validator(mode="after")
    def _some(self) -> ToolsFilter:
        if not self.model_fields_set:
            raise ValueError("at least one of allow, deny")
        return self


_ACTIONS = ("drop", "set", "map", "clamp", "tools")


class RewriteRuleModel(Strict):
    """Changes the request; every matching rewrite rule applies, in order: drop, set, map, clamp, tools."""

    model_config = ConfigDict(json_schema_extra=_at_least_one(_ACTIONS))

    id: RuleId = Field(description="Unique across all loaded rule files.")
    description: StrictStr | None = None
    when: RewriteWhen | None = Field(default=None, description="Left out: always matches.")
    drop: tuple[NonEmpty, ...] | None = Field(default=None, description='Paths removed, e.g. "tools[*].cache_control".')
    set: dict[StrictStr, Any] | None = Field(
        default=None, description='{path: value}; value a JSON literal, {"jmespath": expr} or {"literal": value}.'
    )
    map: dict[StrictStr, NonEmpty] | None = Field(default=None, description="{dest_path: JMESPath over the request}.")
    clamp: Literal["max_tokens"] | None = Field(
        default=None, description="Clamp max_tokens to the target model's max_tokens."
    )
    tools: ToolsFilter | None = None

    @model_validator(mode="after")
    def _some_action(self) -> RewriteRuleModel:
        if _count_present(self, _ACTIONS) == 0:
            raise ValueError("at least one action: drop, set, map, clamp, tools")
        return self


class RuleFileModel(Strict):
    """A cc-proxy rule file: see docs/configuration.md."""

    schema_: StrictStr | None = Field(default=None, alias="$schema", description="JSON Schema for editors.")
    description: StrictStr | None = None
    routing: tuple[RoutingRuleModel, ...] = Field(default=(), description="First match wins.")
    rewrite: tuple[RewriteRuleModel, ...] = Field(default=(), description="Every matching rule applies, in order.")
