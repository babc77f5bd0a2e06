"""The pre-translation step: what the Anthropic API does itself, done in the proxy for upstreams that lack it.

It runs after `decide` and before the wire builder, for the chosen target (again for each fallback),
on the rewritten request; every wire module then sees the emulated request and needs no code of its
own. What runs is profile data (`engine.profiles.Profile`), never a provider name or a wire format:

- `defer_tools`: tools sent with `defer_loading: true` stay hidden until a `tool_reference` in an
  earlier `tool_result` loads them (the API's tool search, `engine.emulate.deferred_tools`).

Each step returns the request unchanged (the same object) when it has nothing to do, so a request
that uses none of these features costs one look at a few keys. `Prepared.notes` says what was done,
for `cc-proxy explain` and the request log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cc_proxy.engine.emulate.deferred_tools import hide_deferred_tools
from cc_proxy.engine.snapshot import ResolvedModel


@dataclass(frozen=True, slots=True)
class Prepared:
    """The request the wire builder gets, and what the proxy did to it."""

    request: dict[str, Any]  # shares untouched subtrees with the decided request: treat as immutable
    notes: tuple[str, ...] = ()


def prepare(target: ResolvedModel, request: dict[str, Any]) -> Prepared:
    """Emulate, for `target`, what its upstream does not do itself (see the module docstring)."""
    profile = target.provider.profile
    notes: list[str] = []
    if not profile.tool_search_native:
        request = hide_deferred_tools(request, profile.defer_tools, notes)
    return Prepared(request, tuple(notes))
