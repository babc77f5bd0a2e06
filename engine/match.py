"""Compiled rule conditions: one small predicate per `when` operator.

Everything costly (globs, regexes, JMESPath) is compiled once by `engine.rules`; `matches` only
evaluates. `explain` evaluates the same way (same short-circuits, so it never computes a feature
`matches` would not) and says why, e.g. "tokens 71234 > 60000" or "model 'x' does not contain 'haiku'".
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from cc_proxy.engine.features import Features
from cc_proxy.engine.snapshot import Condition, MatchContext, ResolvedModel
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

# Client credentials: hidden from JMESPath (so no rule can copy them into a body) and from explanations.
SECRET_HEADERS = frozenset({"x-api-key", "authorization", "proxy-authorization", "cookie"})


def visible_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The `headers` pseudo-field JMESPath sees: every header but the credentials."""
    return {k: v for k, v in headers.items() if k not in SECRET_HEADERS}


class RuleContext:
    """The MatchContext of one decision: routing sees route/target None, rewrite rules see them set."""

    __slots__ = ("_jmespath_data", "features", "headers", "request", "route", "target")

    def __init__(
        self,
        request: Mapping[str, Any],
        headers: Mapping[str, str],
        features: Features,
        route: str | None = None,
        target: ResolvedModel | None = None,
    ) -> None:
        self.request = request
        self.headers = headers
        self.features = features
        self.route = route
        self.target = target
        self._jmespath_data: dict[str, Any] | None = None

    def jmespath_data(self) -> dict[str, Any]:
        """The request plus the pseudo-field `headers` (a shallow top-level copy, made once)."""
        if self._jmespath_data is None:
            data = dict(self.request)
            data["headers"] = visible_headers(self.headers)
            self._jmespath_data = data
        return self._jmespath_data


def jmespath_data(ctx: MatchContext) -> dict[str, Any]:
    if isinstance(ctx, RuleContext):
        return ctx.jmespath_data()
    data = dict(ctx.request)
    data["headers"] = visible_headers(ctx.headers)
    return data


def search(expr: ParsedResult, data: Any) -> tuple[Any, str | None]:
    """Evaluate; a type error or any JMESPath failure is (None, reason), never an exception."""
    try:
        return expr.search(data), None
    except (JMESPathError, RecursionError, ValueError, TypeError) as exc:
        return None, f"{type(exc).__name__}: {exc}"


# --- strings -----------------------------------------------------------------------------------------

StringOp = Literal["equals", "glob", "regex", "contains"]


@dataclass(frozen=True, slots=True)
class StringMatcher:
    """`equals` / `glob` / `regex` / `contains` on one string. `test` is precompiled by engine.rules."""

    op: StringOp
    pattern: str
    test: Callable[[str], bool] = field(repr=False, compare=False)

    def describe(self, value: str, ok: bool) -> str:
        verb = {"equals": "equal", "glob": "match glob", "regex": "match regex", "contains": "contain"}[self.op]
        if ok:
            verb = {"equals": "equals", "glob": "matches glob", "regex": "matches regex", "contains": "contains"}[
                self.op
            ]
            return f"{value!r} {verb} {self.pattern!r}"
        return f"{value!r} does not {verb} {self.pattern!r}"


# --- leaves ------------------------------------------------------------------------------------------

_COMPARE: dict[str, Callable[[int, int], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
}


@dataclass(frozen=True, slots=True)
class TokensCompare:
    op: str
    limit: int

    def matches(self, ctx: MatchContext) -> bool:
        return _COMPARE[self.op](ctx.features.tokens, self.limit)

    def explain(self, ctx: MatchContext) -> str:
        tokens = ctx.features.tokens
        ok = _COMPARE[self.op](tokens, self.limit)
        return f"tokens {tokens} {self.op} {self.limit}" if ok else f"tokens {tokens} is not {self.op} {self.limit}"


@dataclass(frozen=True, slots=True)
class ModelMatch:
    """`model` (what the client sent)."""

    matcher: StringMatcher

    def matches(self, ctx: MatchContext) -> bool:
        return self.matcher.test(ctx.features.model)

    def explain(self, ctx: MatchContext) -> str:
        model: str = ctx.features.model
        return "model " + self.matcher.describe(model, self.matcher.test(model))


@dataclass(frozen=True, slots=True)
class FeatureText:
    """`session` (Claude Code's session id) or `kind` (main, compaction, side) against a string test."""

    feature: Literal["session", "kind"]
    matcher: StringMatcher

    def _value(self, ctx: MatchContext) -> str:
        features = ctx.features
        value: str = features.session_id if self.feature == "session" else features.kind
        return value

    def matches(self, ctx: MatchContext) -> bool:
        return self.matcher.test(self._value(ctx))

    def explain(self, ctx: MatchContext) -> str:
        value = self._value(ctx)
        return f"{self.feature} " + self.matcher.describe(value, self.matcher.test(value))


@dataclass(frozen=True, slots=True)
class FlagIs:
    """`thinking`, `tools`, `images`, `subagent`: a boolean feature equals the configured value."""

    feature: Literal["thinking", "tools", "images", "subagent"]
    expected: bool

    def _value(self, ctx: MatchContext) -> bool:
        features = ctx.features
        if self.feature == "tools":
            return bool(features.has_tools)
        return bool(getattr(features, self.feature))

    def matches(self, ctx: MatchContext) -> bool:
        return self._value(ctx) == self.expected

    def explain(self, ctx: MatchContext) -> str:
        value = self._value(ctx)
        return f"{self.feature} is {str(value).lower()} (wanted {str(self.expected).lower()})"


@dataclass(frozen=True, slots=True)
class AnyNameMatches:
    """`tool` (client tool names) or `server_tool` (server tool types) against a compiled glob."""

    feature: Literal["tool", "server_tool"]
    matcher: StringMatcher

    def _names(self, ctx: MatchContext) -> tuple[str, ...]:
        features = ctx.features
        names: tuple[str, ...] = features.tool_names if self.feature == "tool" else features.server_tool_types
        return names

    def matches(self, ctx: MatchContext) -> bool:
        return any(self.matcher.test(name) for name in self._names(ctx))

    def explain(self, ctx: MatchContext) -> str:
        names = self._names(ctx)
        label = "tool" if self.feature == "tool" else "server tool"
        for name in names:
            if self.matcher.test(name):
                return f"{label} {name!r} matches {self.matcher.pattern!r}"
        return f"no {label} matches {self.matcher.pattern!r} (have {', '.join(names) or 'none'})"


@dataclass(frozen=True, slots=True)
class HeaderMatch:
    name: str  # lower-case
    matcher: StringMatcher | None  # None: test presence
    present: bool = True

    def matches(self, ctx: MatchContext) -> bool:
        value = ctx.headers.get(self.name)
        if self.matcher is None:
            return (value is not None) == self.present
        return value is not None and self.matcher.test(value)

    def explain(self, ctx: MatchContext) -> str:
        value = ctx.headers.get(self.name)
        if self.matcher is None:
            state = "present" if value is not None else "absent"
            return f"header {self.name} is {state} (wanted {'present' if self.present else 'absent'})"
        if value is None:
            return f"header {self.name} is absent"
        ok = self.matcher.test(value)
        if self.name in SECRET_HEADERS:  # say whether, never what
            return f"header {self.name} {'matches' if ok else 'does not match'} ({self.matcher.op}, value hidden)"
        return f"header {self.name} " + self.matcher.describe(value, ok)


@dataclass(frozen=True, slots=True)
class JmesPathTrue:
    source: str
    expr: ParsedResult = field(repr=False)

    def matches(self, ctx: MatchContext) -> bool:
        value, _ = search(self.expr, jmespath_data(ctx))
        return _truthy(value)

    def check(self, ctx: MatchContext) -> tuple[bool, str]:
        value, error = search(self.expr, jmespath_data(ctx))
        if error is not None:
            return False, f"jmespath {self.source!r} failed ({error}): no match"
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        ok = _truthy(value)
        return ok, f"jmespath {self.source!r} is {'truthy' if ok else 'falsy'} ({shown})"

    def explain(self, ctx: MatchContext) -> str:
        return self.check(ctx)[1]


def _truthy(value: Any) -> bool:
    # JMESPath truthiness: false, null, "", [], {} are false; 0 is true.
    if value is None or value is False:
        return False
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return True


# --- rewrite-only: the chosen target ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TargetField:
    """`route`, `target`, `provider`, `format`, `upstream_model`: facts of the chosen target."""

    field: Literal["route", "target", "provider", "format", "upstream_model"]
    matcher: StringMatcher

    def _value(self, ctx: MatchContext) -> str | None:
        if self.field == "route":
            return ctx.route
        target = ctx.target
        if target is None:
            return None
        if self.field == "target":
            return target.alias
        if self.field == "provider":
            return target.provider.name
        if self.field == "format":
            return target.provider.format
        # upstream_model None means the client's model name is sent unchanged
        return target.upstream_model if target.upstream_model is not None else ctx.features.model

    def matches(self, ctx: MatchContext) -> bool:
        value = self._value(ctx)
        return value is not None and self.matcher.test(value)

    def explain(self, ctx: MatchContext) -> str:
        value = self._value(ctx)
        if value is None:
            return f"{self.field} is not set"
        return f"{self.field} " + self.matcher.describe(value, self.matcher.test(value))


# --- combinators ---------------------------------------------------------------------------------------


def evaluate(cond: Condition, ctx: MatchContext) -> tuple[bool, str]:
    """(matches, why) in one evaluation where the condition supports it (JMESPath, combinators)."""
    check = getattr(cond, "check", None)
    if check is not None:
        result: tuple[bool, str] = check(ctx)
        return result
    return cond.matches(ctx), cond.explain(ctx)


@dataclass(frozen=True, slots=True)
class AllOf:
    """`all`, and the implicit AND of the keys of one `when` object. Empty: always true."""

    parts: tuple[Condition, ...]

    def matches(self, ctx: MatchContext) -> bool:
        return all(part.matches(ctx) for part in self.parts)

    def check(self, ctx: MatchContext) -> tuple[bool, str]:
        if not self.parts:
            return True, "always"
        reasons: list[str] = []
        ok = True
        for part in self.parts:
            ok, reason = evaluate(part, ctx)
            reasons.append(reason)
            if not ok:
                break  # the same short-circuit as `matches`: nothing more is computed
        return ok, reasons[0] if len(reasons) == 1 else "(" + " and ".join(reasons) + ")"

    def explain(self, ctx: MatchContext) -> str:
        return self.check(ctx)[1]


@dataclass(frozen=True, slots=True)
class AnyOf:
    parts: tuple[Condition, ...]

    def matches(self, ctx: MatchContext) -> bool:
        return any(part.matches(ctx) for part in self.parts)

    def check(self, ctx: MatchContext) -> tuple[bool, str]:
        if not self.parts:
            return False, "any of nothing: never"
        reasons: list[str] = []
        for part in self.parts:
            ok, reason = evaluate(part, ctx)
            if ok:
                return True, reason
            reasons.append(reason)
        return False, "none of (" + "; ".join(reasons) + ")"

    def explain(self, ctx: MatchContext) -> str:
        return self.check(ctx)[1]


@dataclass(frozen=True, slots=True)
class Not:
    part: Condition

    def matches(self, ctx: MatchContext) -> bool:
        return not self.part.matches(ctx)

    def check(self, ctx: MatchContext) -> tuple[bool, str]:
        ok, reason = evaluate(self.part, ctx)
        return not ok, f"not ({reason})"

    def explain(self, ctx: MatchContext) -> str:
        return self.check(ctx)[1]


__all__ = [
    "SECRET_HEADERS",
    "AllOf",
    "AnyNameMatches",
    "AnyOf",
    "FeatureText",
    "FlagIs",
    "HeaderMatch",
    "JmesPathTrue",
    "ModelMatch",
    "Not",
    "RuleContext",
    "StringMatcher",
    "TargetField",
    "TokensCompare",
    "evaluate",
    "search",
    "visible_headers",
]
