"""Bytes -> Snapshot, or a ConfigError carrying every problem found. Pure: the server reads the files
(server/config_files.py) and passes their bytes and the environment in.

    doc = parse_config(SourceFile("cc-proxy.json", data))       # or parse_config(None): built-in default
    snapshot = build_snapshot(doc, [SourceFile("rules/a.json", ...)], os.environ)

`check`, `serve` and hot reload all go through these two functions.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import orjson
from cc_proxy.engine.config import BUILTIN_DEFAULT_CONFIG, ConfigFile
from cc_proxy.engine.errors import ConfigError, ConfigProblem, Severity
from cc_proxy.engine.json_schema import config_schema, rules_schema
from cc_proxy.engine.json_source import index_path, key_path
from cc_proxy.engine.resolve import check_config, is_standard_route, resolve
from cc_proxy.engine.rule_models import RuleFileModel
from cc_proxy.engine.rules import CompileError, compile_rewrite_rule, compile_routing_rule
from cc_proxy.engine.schema_errors import SchemaChecker
from cc_proxy.engine.snapshot import RewriteRule, RoutingRule, Snapshot
from cc_proxy.engine.source import Locator, SourceFile, parse_source
from cc_proxy.engine.suggest import did_you_mean

__all__ = ["ConfigDocument", "SourceFile", "build_snapshot", "parse_config"]

BUILTIN_NAME = "built-in default"


@functools.cache
def _config_checker() -> SchemaChecker:
    return SchemaChecker(config_schema)


@functools.cache
def _rules_checker() -> SchemaChecker:
    return SchemaChecker(rules_schema)


@dataclass(frozen=True, slots=True)
class ConfigDocument:
    """A parsed, schema-valid cc-proxy.json whose internal references are consistent."""

    path: str | None  # None: the built-in default
    config: ConfigFile
    locator: Locator
    digest: bytes
    warnings: tuple[ConfigProblem, ...] = ()

    @property
    def rule_patterns(self) -> tuple[str, ...]:
        """Entries of `rules`, as written: globs relative to the config file, or `builtin:NAME`."""
        return self.config.rules

    @property
    def display_name(self) -> str:
        return self.path if self.path is not None else BUILTIN_NAME

    def problem(self, json_path: str, code: str, message: str, severity: Severity = "error") -> ConfigProblem:
        """A problem located in this file (e.g. `$.rules[1]` for a glob that matched nothing)."""
        return self.locator.problem(json_path, code, message, severity)


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def parse_config(src: SourceFile | None) -> ConfigDocument:
    """Parse and check cc-proxy.json (None: the built-in default). Raises ConfigError with every problem."""
    if src is None:
        config = ConfigFile.model_validate(BUILTIN_DEFAULT_CONFIG)
        data = orjson.dumps(BUILTIN_DEFAULT_CONFIG, option=orjson.OPT_SORT_KEYS)
        return ConfigDocument(None, config, Locator(BUILTIN_NAME), _sha(b"builtin\0" + data))
    locator, model, problems = parse_source(src, _config_checker(), ConfigFile)
    if locator.parsed is not None and isinstance(locator.parsed.value, dict):
        problems.extend(check_config(locator.parsed.value, locator))
    if model is None or any(p.severity == "error" for p in problems):
        raise ConfigError(tuple(_ordered(problems)))
    digest = _sha(b"config\0" + src.path.encode() + b"\0" + src.data)
    return ConfigDocument(src.path, cast(ConfigFile, model), locator, digest, tuple(problems))


def build_snapshot(
    doc: ConfigDocument,
    rule_sources: Sequence[SourceFile],
    env: Mapping[str, str],
    extra_problems: Sequence[ConfigProblem] = (),
) -> Snapshot:
    """Rule files + environment -> Snapshot. `extra_problems` are those the caller found on the way
    (a rule glob that matched nothing, a file it could not read): their errors fail the load too, so
    one ConfigError lists everything."""
    problems: list[ConfigProblem] = [*doc.warnings, *extra_problems]
    resolved = resolve(doc.config, env, doc.locator)
    problems.extend(resolved.problems)
    routing: list[RoutingRule] = []
    rewrite: list[RewriteRule] = []
    seen_ids: dict[str, ConfigProblem] = {}
    hasher = hashlib.sha256(doc.digest)
    parsed = [(src, *parse_source(src, _rules_checker(), RuleFileModel)) for src in rule_sources]
    # A rule of the user's own files replaces the shipped rule with its id: `["builtin:default",
    # "rules.json"]` with a `background` rule of one's own keeps the rest of builtin:default.
    own_ids = {
        rule["id"]
        for src, locator, _model, _problems in parsed
        if not src.shipped
        for _kind, _i, rule in _rules_in(locator.parsed.value if locator.parsed is not None else None)
        if isinstance(rule.get("id"), str)
    }
    for src, locator, _model, file_problems in parsed:
        hasher.update(b"\0rules\0" + src.path.encode() + b"\0" + _sha(src.data))
        problems.extend(file_problems)
        raw = locator.parsed.value if locator.parsed is not None else None
        for kind, i, rule in _rules_in(raw):
            at = index_path(key_path("$", kind), i)
            if src.shipped and rule.get("id") in own_ids:
                continue
            if isinstance(rule.get("id"), str):
                problems.extend(_check_id(rule["id"], locator, at, seen_ids))
            problems.extend(_check_references(doc, rule, kind, locator, at))
            if any(_related(p.json_path, at) for p in file_problems):
                continue  # compile only what the schema accepted
            try:
                if kind == "routing":
                    routing.append(compile_routing_rule(rule, src.path, at))
                else:
                    rewrite.append(compile_rewrite_rule(rule, src.path, at))
            except CompileError as exc:
                problems.append(locator.problem(exc.json_path, exc.code, exc.message))
            except RecursionError:
                problems.append(locator.problem(at, "rule-too-deep", "the rule nests too deeply"))
    for name, value in resolved.env_used:
        hasher.update(b"\0env\0" + name.encode() + b"\0" + _sha((value or "").encode()))
    ordered = tuple(_ordered(problems))
    if any(p.severity == "error" for p in ordered):
        raise ConfigError(ordered)
    return Snapshot(
        version=hasher.hexdigest()[:12],
        config_file=doc.path,
        rule_files=tuple(src.path for src in rule_sources),
        server=resolved.server,
        providers=resolved.providers,
        models=resolved.models,
        routes=resolved.routes,
        routing_rules=tuple(routing),
        rewrite_rules=tuple(rewrite),
        warnings=ordered,
    )


def _rules_in(raw: Any) -> Iterator[tuple[str, int, Mapping[str, Any]]]:
    """(kind, index, rule) of every rule-shaped entry, even in a file the schema rejected."""
    if not isinstance(raw, dict):
        return
    for kind in ("routing", "rewrite"):
        rules = raw.get(kind)
        for i, rule in enumerate(rules if isinstance(rules, list) else ()):
            if isinstance(rule, dict):
                yield kind, i, rule


def _related(json_path: str, at: str) -> bool:
    """A problem at `json_path` concerns the rule at `at` (inside it, or at one of its ancestors)."""
    return (
        json_path in ("$", at)
        or json_path.startswith((at + ".", at + "["))
        or at.startswith((json_path + ".", json_path + "["))
    )


def _check_id(rule_id: str, locator: Locator, at: str, seen: dict[str, ConfigProblem]) -> list[ConfigProblem]:
    here = locator.problem(key_path(at, "id"), "duplicate-rule-id", f"rule id {rule_id!r} is used twice")
    first = seen.get(rule_id)
    if first is None:
        seen[rule_id] = here
        return []
    where = first.file + (f":{first.line}" if first.line is not None else "")
    return [ConfigProblem(here.code, f"rule id {rule_id!r} is already used at {where}", *_place(here))]


def _place(p: ConfigProblem) -> tuple[str, str, int | None, int | None]:
    return p.file, p.json_path, p.line, p.col


def _check_references(
    doc: ConfigDocument, rule: Mapping[str, Any], kind: str, locator: Locator, at: str
) -> Iterator[ConfigProblem]:
    """Routes, model aliases and providers a rule names must exist (a standard route may be absent:
    the engine skips a rule whose route is not configured)."""
    if kind == "routing":
        yield from _unknown_route(doc, rule, locator, at)
        yield from _unknown_alias(doc, rule, "model", locator, at)
        return
    when = rule.get("when")
    if isinstance(when, Mapping):
        yield from _check_when(doc, when, locator, key_path(at, "when"))


def _unknown_route(doc: ConfigDocument, node: Mapping[str, Any], locator: Locator, at: str) -> Iterator[ConfigProblem]:
    """`node["route"]` names a route that is neither configured nor standard."""
    route, routes = node.get("route"), doc.config.routes
    if isinstance(route, str) and route not in routes and not is_standard_route(route):
        message = f"route {route!r} is neither configured nor standard{did_you_mean(route, routes)}"
        yield locator.problem(key_path(at, "route"), "unknown-route", message)


def _unknown_alias(
    doc: ConfigDocument, node: Mapping[str, Any], key: str, locator: Locator, at: str
) -> Iterator[ConfigProblem]:
    """`node[key]` names a model alias that is not configured."""
    alias, models = node.get(key), doc.config.models
    if isinstance(alias, str) and alias not in models:
        message = f"unknown model alias {alias!r}{did_you_mean(alias, models)}"
        yield locator.problem(key_path(at, key), "unknown-model", message)


def _check_when(doc: ConfigDocument, when: Mapping[str, Any], locator: Locator, at: str) -> Iterator[ConfigProblem]:
    config = doc.config
    yield from _unknown_route(doc, when, locator, at)
    yield from _unknown_alias(doc, when, "target", locator, at)
    provider = when.get("provider")
    if isinstance(provider, str) and provider not in config.providers:
        message = f"unknown provider {provider!r}{did_you_mean(provider, config.providers)}"
        yield locator.problem(key_path(at, "provider"), "unknown-provider", message)
    for key in ("all", "any"):
        for i, sub in enumerate(when.get(key) or ()):
            if isinstance(sub, Mapping):
                yield from _check_when(doc, sub, locator, index_path(key_path(at, key), i))
    if isinstance(when.get("not"), Mapping):
        yield from _check_when(doc, when["not"], locator, key_path(at, "not"))


def _ordered(problems: Sequence[ConfigProblem]) -> list[ConfigProblem]:
    """Stable: files in the order they were loaded, then by position in the file."""
    file_order: dict[str, int] = {}
    for p in problems:
        file_order.setdefault(p.file, len(file_order))
    return sorted(problems, key=lambda p: (file_order[p.file], p.line or 0, p.col or 0))
