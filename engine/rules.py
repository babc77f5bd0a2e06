"""Compile one rule (already validated against schemas/rules.schema.json) into its executable form.

The loader (engine.load) calls `compile_routing_rule` / `compile_rewrite_rule` per rule and turns a
`CompileError` into a ConfigProblem located at `json_path`. Everything costly is compiled here, once:
globs and regexes to RE2 (linear time, no backreferences), JMESPath to parsed trees, paths to segments.
Cross-references (does the route / model alias exist?) are the loader's job: it sees the whole config.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any, cast

import jmespath
from cc_proxy.engine.config import parse_count as parse_shorthand
from cc_proxy.engine.errors import ConfigProblem
from cc_proxy.engine.match import (
    AllOf,
    AnyNameMatches,
    AnyOf,
    FeatureText,
    FlagIs,
    HeaderMatch,
    JmesPathTrue,
    ModelMatch,
    Not,
    StringMatcher,
    StringOp,
    TargetField,
    TokensCompare,
)
from cc_proxy.engine.paths import Path, PathError, parse_path
from cc_proxy.engine.rewrite import ClampMaxTokens, DropPaths, FilterTools, MapPaths, SetPaths, SetValue
from cc_proxy.engine.snapshot import Condition, RewriteAction, RewriteRule, RoutingRule
from jmespath.exceptions import IncompleteExpressionError, JMESPathError, ParseError
from jmespath.parser import ParsedResult

MAX_PATTERN_LENGTH = 1000  # regexes and globs
MAX_JMESPATH_LENGTH = 4000
MAX_CONDITION_DEPTH = 32  # nesting of all/any/not

_STRING_OPS: tuple[StringOp, ...] = ("equals", "glob", "regex", "contains")
_REWRITE_ONLY = ("route", "target", "provider", "format", "upstream_model")
_TOKEN_OPS = (">", ">=", "<", "<=", "==")


class CompileError(Exception):
    """A rule that passed the schema but cannot be compiled (bad regex, JMESPath, path, ...)."""

    def __init__(self, json_path: str, code: str, message: str) -> None:
        super().__init__(f"{code}: {message} (at {json_path})")
        self.json_path = json_path
        self.code = code
        self.message = message

    def problem(self, file: str) -> ConfigProblem:
        return ConfigProblem(code=self.code, message=self.message, file=file, json_path=self.json_path)


def _key_path(json_path: str, key: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return f"{json_path}.{key}"
    return f"{json_path}[{key!r}]"


# --- compiled building blocks ---------------------------------------------------------------------------

@functools.cache
def _re2() -> tuple[Any, Any]:
    """RE2 and its options, imported on the first regex: with libstdc++ it is ~2.3 MB of resident memory
    that configs whose globs all take a fast path (compile_glob) never need."""
    import re2

    options = re2.Options()
    options.log_errors = False  # errors become CompileErrors, not stderr noise
    options.dot_nl = True
    return re2, options


def compile_regex(pattern: str, json_path: str) -> Any:
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise CompileError(json_path, "regex-too-long", f"pattern longer than {MAX_PATTERN_LENGTH} characters")
    re2, options = _re2()
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        detail = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        hint = (
            " (backreferences and lookaround are not supported: RE2 syntax)"
            if "\\" in pattern or "(?" in pattern
            else ""
        )
        raise CompileError(json_path, "regex-invalid", f"invalid regex {pattern!r}: {detail}{hint}") from None


def glob_to_regex(glob: str) -> str:
    """`*` any run, `?` one character, `[abc]` / `[!abc]` a class; everything else literal."""
    escape = _re2()[0].escape
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        ch = glob[i]
        i += 1
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[":
            # As fnmatch: a `]` first in the class (after an optional `!`) is a member, not its end.
            first = i + 1 if i < n and glob[i] == "!" else i
            end = glob.find("]", first + 1 if first < n and glob[first] == "]" else first)
            if end < 0:
                out.append(escape("["))
                continue
            body = glob[i:end]
            i = end + 1
            negate = body.startswith("!")
            body = body[1:] if negate else body
            escaped = "".join("\\" + c if c in "\\^]" else c for c in body)
            out.append(f"[{'^' if negate else ''}{escaped}]")
        else:
            out.append(escape(ch))
    return "".join(out)


def compile_glob(glob: str, json_path: str) -> Callable[[str], bool]:
    if len(glob) > MAX_PATTERN_LENGTH:
        raise CompileError(json_path, "glob-too-long", f"glob longer than {MAX_PATTERN_LENGTH} characters")
    if not any(c in glob for c in "*?["):
        return glob.__eq__
    # The common shapes need no regex: `x*`, `*x`, `*x*` (a single star at an end, nothing else special).
    inner = glob.strip("*")
    if not inner:
        return lambda _s: True
    if not any(c in inner for c in "*?["):
        starts, ends = glob.startswith("*"), glob.endswith("*")
        if glob.count("*") == starts + ends:
            if starts and ends:
                return lambda s: inner in s
            if ends:
                return lambda s: s.startswith(inner)
            return lambda s: s.endswith(inner)
    regex = compile_regex(glob_to_regex(glob), json_path)
    return lambda s: regex.fullmatch(s) is not None


def compile_string_matcher(raw: Any, json_path: str) -> StringMatcher:
    """A string (exact) or `{"equals"|"glob"|"regex"|"contains": "..."}`."""
    if isinstance(raw, str):
        return StringMatcher("equals", raw, raw.__eq__)
    if not isinstance(raw, Mapping):
        raise CompileError(json_path, "invalid-value", "expected a string or an object with equals/glob/regex/contains")
    ops = [op for op in _STRING_OPS if op in raw]
    if len(ops) != 1 or not isinstance(raw[ops[0]], str):
        raise CompileError(
            json_path, "invalid-value", "expected exactly one of equals, glob, regex, contains (a string)"
        )
    op = ops[0]
    pattern: str = raw[op]
    where = f"{json_path}.{op}"
    test: Callable[[str], bool]
    if op == "equals":
        test = pattern.__eq__
    elif op == "contains":
        test = lambda s: pattern in s  # noqa: E731
    elif op == "glob":
        test = compile_glob(pattern, where)
    else:
        regex = compile_regex(pattern, where)
        test = lambda s: regex.search(s) is not None  # noqa: E731 - a closure over the compiled regex
    return StringMatcher(op, pattern, test)


def compile_jmespath(expr: Any, json_path: str) -> ParsedResult:
    if not isinstance(expr, str) or not expr.strip():
        raise CompileError(json_path, "jmespath-syntax", "expected a non-empty JMESPath expression")
    if len(expr) > MAX_JMESPATH_LENGTH:
        raise CompileError(json_path, "jmespath-too-long", f"expression longer than {MAX_JMESPATH_LENGTH} characters")
    try:
        return jmespath.compile(expr)
    except ParseError as exc:
        if isinstance(exc, IncompleteExpressionError):
            detail = "incomplete expression"
        else:
            detail = f"unexpected {exc.token_type} {exc.token_value!r}" if exc.token_value is not None else exc.msg
        raise CompileError(
            json_path, "jmespath-syntax", f"invalid JMESPath {expr!r} at position {exc.lex_position}: {detail}"
        ) from None
    except JMESPathError as exc:
        raise CompileError(json_path, "jmespath-syntax", f"invalid JMESPath: {exc}") from None
    except RecursionError:
        raise CompileError(json_path, "jmespath-too-deep", "JMESPath expression is nested too deeply") from None


def compile_path(text: Any, json_path: str) -> Path:
    if not isinstance(text, str):
        raise CompileError(json_path, "path-invalid", "a path is a string like `metadata.user_id`")
    try:
        return parse_path(text)
    except PathError as exc:
        raise CompileError(
            json_path, "path-invalid", f"invalid path {text!r} at position {exc.position}: {exc}"
        ) from None


def parse_count(value: Any, json_path: str) -> int:
    """An integer, or a shorthand string ("60k", "200K", "1M", "32Ki"): the one reading engine.config has."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    count = parse_shorthand(value) if isinstance(value, str) else None
    if count is None:
        raise CompileError(json_path, "invalid-value", f'expected a number or a string like "60k", got {value!r}')
    return count


# --- conditions -------------------------------------------------------------------------------------------


def _expect(value: Any, kind: type, json_path: str, what: str) -> Any:
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise CompileError(json_path, "invalid-value", f"expected {what}")
    return value


def compile_condition(raw: Any, json_path: str, *, rewrite: bool, depth: int = 0) -> Condition:
    """A `when` object: its keys are ANDed. `rewrite` allows the target keys (route, target, ...)."""
    if depth > MAX_CONDITION_DEPTH:
        raise CompileError(json_path, "condition-too-deep", f"conditions nest deeper than {MAX_CONDITION_DEPTH}")
    if not isinstance(raw, Mapping):
        raise CompileError(json_path, "invalid-value", "a condition is an object")
    parts: list[Condition] = []
    for key, value in raw.items():
        parts.extend(_compile_key(key, value, _key_path(json_path, key), rewrite=rewrite, depth=depth))
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts))


def _compile_key(key: str, value: Any, where: str, *, rewrite: bool, depth: int) -> list[Condition]:
    if key == "tokens":
        _expect(value, dict, where, 'an object like {">": 60000}')
        out: list[Condition] = []
        for op, limit in value.items():
            if op not in _TOKEN_OPS:
                raise CompileError(
                    where, "invalid-value", f"unknown comparison {op!r}; use one of {', '.join(_TOKEN_OPS)}"
                )
            out.append(TokensCompare(op, parse_count(limit, _key_path(where, op))))
        if not out:
            raise CompileError(where, "invalid-value", "tokens needs at least one comparison")
        return out
    if key == "model":
        return [ModelMatch(compile_string_matcher(value, where))]
    if key in ("session", "kind"):
        return [FeatureText(cast(Any, key), compile_string_matcher(value, where))]
    if key in ("thinking", "tools", "images", "subagent"):
        return [FlagIs(cast(Any, key), _expect(value, bool, where, "true or false"))]
    if key in ("tool", "server_tool"):
        glob = _expect(value, str, where, "a glob string")
        return [AnyNameMatches(cast(Any, key), StringMatcher("glob", glob, compile_glob(glob, where)))]
    if key == "header":
        return [_compile_header(value, where)]
    if key == "jmespath":
        return [JmesPathTrue(value, compile_jmespath(value, where))]
    if key in ("all", "any"):
        items = _expect(value, list, where, "a list of conditions")
        compiled = tuple(
            compile_condition(item, f"{where}[{i}]", rewrite=rewrite, depth=depth + 1) for i, item in enumerate(items)
        )
        return [AllOf(compiled) if key == "all" else AnyOf(compiled)]
    if key == "not":
        return [Not(compile_condition(value, where, rewrite=rewrite, depth=depth + 1))]
    if key in _REWRITE_ONLY:
        if not rewrite:
            raise CompileError(
                where, "rewrite-only-condition", f"{key!r} is known only after routing: use it in rewrite rules"
            )
        field = cast(Any, key)
        return [TargetField(field, compile_string_matcher(value, where))]
    raise CompileError(where, "unknown-condition", f"unknown condition {key!r}")


def _compile_header(value: Any, where: str) -> Condition:
    _expect(value, dict, where, 'an object like {"name": "x-h", "equals": "v"}')
    name = _expect(value.get("name"), str, _key_path(where, "name"), "a header name")
    if "present" in value:
        present = _expect(value["present"], bool, _key_path(where, "present"), "true or false")
        return HeaderMatch(name.lower(), None, present)
    matcher_raw = {op: value[op] for op in _STRING_OPS if op in value}
    return HeaderMatch(name.lower(), compile_string_matcher(matcher_raw, where))


# --- rules ---------------------------------------------------------------------------------------------------


def _when(raw: Mapping[str, Any], json_path: str, *, rewrite: bool) -> Condition:
    if raw.get("when") is None:
        return AllOf(())
    return compile_condition(raw["when"], f"{json_path}.when", rewrite=rewrite)


def compile_routing_rule(raw: Mapping[str, Any], file: str, json_path: str) -> RoutingRule:
    """`{"id", "when"?, "route" | "model", "description"?}` -> RoutingRule. Raises CompileError."""
    try:
        route, model = raw.get("route"), raw.get("model")
        if (route is None) == (model is None):
            raise CompileError(json_path, "invalid-rule", "a routing rule has exactly one of `route` or `model`")
        return RoutingRule(
            id=str(raw.get("id", "")),
            file=file,
            json_path=json_path,
            when=_when(raw, json_path, rewrite=False),
            route=route,
            model=model,
            description=str(raw.get("description", "")),
        )
    except RecursionError:
        raise CompileError(json_path, "condition-too-deep", "the rule nests too deeply") from None


def compile_rewrite_rule(raw: Mapping[str, Any], file: str, json_path: str) -> RewriteRule:
    """`{"id", "when"?, drop/set/map/clamp/tools..., "description"?}` -> RewriteRule, actions in the
    documented order (drop, set, map, clamp, tools) whatever the key order. Raises CompileError."""
    try:
        actions = _rewrite_actions(raw, json_path)
        if not actions:
            raise CompileError(
                json_path, "invalid-rule", "a rewrite rule needs an action: drop, set, map, clamp or tools"
            )
        return RewriteRule(
            id=str(raw.get("id", "")),
            file=file,
            json_path=json_path,
            when=_when(raw, json_path, rewrite=True),
            actions=tuple(actions),
            description=str(raw.get("description", "")),
        )
    except RecursionError:
        raise CompileError(json_path, "condition-too-deep", "the rule nests too deeply") from None


def _rewrite_actions(raw: Mapping[str, Any], json_path: str) -> list[RewriteAction]:
    actions: list[RewriteAction] = []
    if "drop" in raw:
        where = f"{json_path}.drop"
        items = _expect(raw["drop"], list, where, "a list of paths")
        actions.append(DropPaths(tuple((p, compile_path(p, f"{where}[{i}]")) for i, p in enumerate(items))))
    if "set" in raw:
        where = f"{json_path}.set"
        entries = _expect(raw["set"], dict, where, "an object {path: value}")
        actions.append(SetPaths(tuple(_set_value(k, v, _key_path(where, k)) for k, v in entries.items())))
    if "map" in raw:
        where = f"{json_path}.map"
        entries = _expect(raw["map"], dict, where, "an object {dest_path: jmespath}")
        items = []
        for dest, expr in entries.items():
            at = _key_path(where, dest)
            items.append((dest, compile_path(dest, at), expr, compile_jmespath(expr, at)))
        actions.append(MapPaths(tuple(items)))
    if "clamp" in raw:
        if raw["clamp"] != "max_tokens":
            raise CompileError(f"{json_path}.clamp", "invalid-value", 'clamp supports only "max_tokens"')
        actions.append(ClampMaxTokens())
    if "tools" in raw:
        actions.append(_tools_filter(raw["tools"], f"{json_path}.tools"))
    return actions


def _set_value(text: str, value: Any, where: str) -> SetValue:
    path = compile_path(text, where)
    if isinstance(value, Mapping) and len(value) == 1:
        if "jmespath" in value:
            return SetValue(text, path, expr=compile_jmespath(value["jmespath"], f"{where}.jmespath"))
        if "literal" in value:
            return SetValue(text, path, literal=value["literal"])
    return SetValue(text, path, literal=value)


def _tools_filter(raw: Any, where: str) -> FilterTools:
    _expect(raw, dict, where, 'an object {"allow": [globs], "deny": [globs]}')

    def globs(key: str) -> tuple[StringMatcher, ...]:
        at = f"{where}.{key}"
        items = _expect(raw[key], list, at, "a list of globs")
        return tuple(
            StringMatcher("glob", g, compile_glob(_expect(g, str, f"{at}[{i}]", "a glob string"), f"{at}[{i}]"))
            for i, g in enumerate(items)
        )

    if "allow" not in raw and "deny" not in raw:
        raise CompileError(where, "invalid-value", "tools needs `allow` and/or `deny`")
    return FilterTools(allow=globs("allow") if "allow" in raw else None, deny=globs("deny") if "deny" in raw else ())
