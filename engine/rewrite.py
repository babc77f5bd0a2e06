"""Rewrite actions: drop, set, map, clamp, tools. Each returns a NEW request and never mutates its input.

Updates are copy-on-write along the touched paths (engine.paths): a ~100 KB Claude Code request is
never deep-copied. Config literals are copied into each request, so no request shares a mutable value
with the snapshot. JMESPath sees the request plus the pseudo-field `headers`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from cc_proxy.engine.match import StringMatcher, jmespath_data, search, visible_headers
from cc_proxy.engine.paths import Path, delete_path, set_path
from cc_proxy.engine.snapshot import MatchContext
from jmespath.parser import ParsedResult


def fresh(value: Any) -> Any:
    """A private copy of a JSON literal (scalars are immutable and returned as is)."""
    if isinstance(value, dict | list):
        return copy.deepcopy(value)
    return value


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True, slots=True)
class DropPaths:
    paths: tuple[tuple[str, Path], ...]  # (text, parsed)

    def apply(self, request: dict[str, Any], ctx: MatchContext) -> dict[str, Any]:
        for _, path in self.paths:
            request = delete_path(request, path)
        return request


@dataclass(frozen=True, slots=True)
class SetValue:
    """One `set` entry: a literal, or a JMESPath over the current request (null = leave alone)."""

    text: str
    path: Path
    literal: Any = None
    expr: ParsedResult | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class SetPaths:
    items: tuple[SetValue, ...]

    def apply(self, request: dict[str, Any], ctx: MatchContext) -> dict[str, Any]:
        for item in self.items:
            if item.expr is None:
                request = set_path(request, item.path, partial(fresh, item.literal))
                continue
            data = dict(request)
            data["headers"] = visible_headers(ctx.headers)
            value, _ = search(item.expr, data)
            if value is not None:
                # A subtree of the request may now appear twice: fine, the request is never mutated
                # (copying could recurse as deep as a hostile body nests).
                request = set_path(request, item.path, partial(_same, value))
        return request


@dataclass(frozen=True, slots=True)
class MapPaths:
    """`map`: dest <- JMESPath, every expression evaluated over the request before this rule changed it."""

    items: tuple[tuple[str, Path, str, ParsedResult], ...] = field(repr=False)  # (dest, parsed dest, expr, compiled)

    def apply(self, request: dict[str, Any], ctx: MatchContext) -> dict[str, Any]:
        data = jmespath_data(ctx)
        values = [(dest, search(expr, data)[0]) for _, dest, _, expr in self.items]
        for dest, value in values:
            if value is not None:
                request = set_path(request, dest, partial(_same, value))
        return request


@dataclass(frozen=True, slots=True)
class ClampMaxTokens:
    """`clamp: "max_tokens"`: lower `max_tokens` to the target model's limit (when both are known)."""

    def apply(self, request: dict[str, Any], ctx: MatchContext) -> dict[str, Any]:
        target = ctx.target
        limit = target.max_tokens if target is not None else None
        current = request.get("max_tokens")
        if limit is None or not isinstance(current, int) or isinstance(current, bool) or current <= limit:
            return request
        out = dict(request)
        out["max_tokens"] = limit
        return out


@dataclass(frozen=True, slots=True)
class FilterTools:
    """`tools: {allow, deny}` on tool names; `tool_choice` naming a removed tool becomes `auto`."""

    allow: tuple[StringMatcher, ...] | None
    deny: tuple[StringMatcher, ...]

    def keeps(self, name: str) -> bool:
        if self.allow is not None and not any(m.test(name) for m in self.allow):
            return False
        return not any(m.test(name) for m in self.deny)

    def apply(self, request: dict[str, Any], ctx: MatchContext) -> dict[str, Any]:
        tools = request.get("tools")
        if not isinstance(tools, list):
            return request
        kept = [
            t for t in tools if not (isinstance(t, Mapping) and isinstance(t.get("name"), str)) or self.keeps(t["name"])
        ]
        if len(kept) == len(tools):
            return request
        out = dict(request)
        out["tools"] = kept
        choice = request.get("tool_choice")
        if isinstance(choice, Mapping):
            named = choice.get("type") == "tool" and isinstance(choice.get("name"), str)
            if (named and not self.keeps(choice["name"])) or (not kept and choice.get("type") == "any"):
                reset: dict[str, Any] = {"type": "auto"}
                if "disable_parallel_tool_use" in choice:
                    reset["disable_parallel_tool_use"] = choice["disable_parallel_tool_use"]
                out["tool_choice"] = reset
        return out


def merge_patch(target: Any, patch: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7386 JSON merge patch, copy-on-write: objects merge, `null` deletes, anything else replaces."""
    out = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping):
            out[key] = merge_patch(out.get(key), value)
        else:
            out[key] = fresh(value)
    return out
