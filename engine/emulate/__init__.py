"""The pre-translation step: what the Anthropic API does itself, done in the proxy for upstreams that lack it.

It runs after `decide` and before the wire builder, for the chosen target (again for each fallback),
on the rewritten request; every wire module then sees the emulated request and needs no code of its
own. What runs is profile data (`engine.profiles.Profile`), never a provider name or a wire format:

- tool search (`tool_search_native`, `defer_tools`): tools sent with `defer_loading: true` stay hidden
  until a `tool_reference` in an earlier `tool_result` loads them (`engine.emulate.deferred_tools`).
- `context_management.edits` the upstream does not apply itself (`native_context_edits`): applied here,
  and reported in the answer's `context_management.applied_edits` (`engine.emulate.context_edits`).
- `safeguards` (Claude Code's auto mode) to an upstream that cannot answer them (`safeguards_native`):
  dropped, and said so (Claude Code then refuses the actions that needed the check, naming the proxy).
- PDF `document` blocks (also inside `tool_result`) to an upstream that takes no files (`pdf_files`):
  their extracted text, marked as such (`engine.emulate.documents`; the server injects the extractor).
- Claude Code's session id into the profile's `session_fields` (e.g. OpenAI's `prompt_cache_key`), so
  prompt caches hit across a session.
- `anthropic-beta` values of features the proxy emulates are not forwarded (the upstream would not know
  them); `beta_reject` is applied by the Anthropic wire itself.

Each step returns the request unchanged (the same object) when it has nothing to do, so a request that
uses none of these features costs a few key look-ups. `Prepared.notes` says what was done, for
`cc-proxy explain`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any

from cc_proxy.engine.emulate.context_edits import EMULATED_EDITS, apply_edits
from cc_proxy.engine.emulate.deferred_tools import hide_deferred_tools
from cc_proxy.engine.emulate.documents import PdfText, documents_as_text
from cc_proxy.engine.features import Features
from cc_proxy.engine.snapshot import ResolvedModel

# Betas that switch on what the proxy emulates: not forwarded to an upstream that gets the emulation.
TOOL_SEARCH_BETAS = ("advanced-tool-use-",)
CONTEXT_BETAS = ("context-management-",)
SAFEGUARD_BETAS = ("dangerous-tool-use-",)


@dataclass(frozen=True, slots=True)
class Prepared:
    """The request and client headers the wire builder gets, and what the proxy did to them."""

    request: dict[str, Any]  # shares untouched subtrees with the decided request: treat as immutable
    headers: Mapping[str, str]
    notes: tuple[str, ...] = ()
    # `context_management` of the answer (`{"applied_edits": [...]}`), None when no edit was applied here
    context_management: dict[str, Any] | None = field(default=None)


def prepare(
    target: ResolvedModel,
    request: dict[str, Any],
    features: Features,
    headers: Mapping[str, str],
    pdf_text: PdfText | None = None,
) -> Prepared:
    """Emulate, for `target`, what its upstream does not do itself (see the module docstring).
    `pdf_text` is the server's PDF text extractor (the engine parses no files itself)."""
    profile = target.provider.profile
    notes: list[str] = []
    dropped_betas: list[str] = []
    if not profile.tool_search_native:
        before = request
        request = hide_deferred_tools(request, profile.defer_tools, notes)
        if request is not before:
            dropped_betas.extend(TOOL_SEARCH_BETAS)
    applied: list[dict[str, Any]] = []
    emulated = tuple(kind for kind in EMULATED_EDITS if kind not in profile.native_context_edits)
    if emulated and "context_management" in request:
        estimator = features.estimator

        def count(content: Any) -> int:
            return estimator.content(content) if estimator is not None else 0

        request, applied = apply_edits(request, emulated, lambda: features.tokens, count, notes)
        dropped_betas.extend(CONTEXT_BETAS)
    if not profile.pdf_files:
        request = documents_as_text(request, pdf_text, notes)
    if not profile.safeguards_native and "safeguards" in request:
        request = {k: v for k, v in request.items() if k != "safeguards"}
        dropped_betas.extend(SAFEGUARD_BETAS)
        notes.append(
            "safeguards: this upstream cannot answer Claude Code's auto-mode checks: dropped "
            "(Claude Code then refuses the actions that need them)"
        )
    if profile.session_fields:
        request = _session_fields(request, profile.session_fields, features.session_id, notes)
    if dropped_betas and _forwards_betas(profile.forward_headers):
        headers = _without_betas(headers, tuple(dropped_betas), notes)
    cm = {"applied_edits": applied} if applied else None
    return Prepared(request, headers, tuple(notes), cm)


def _session_fields(request: dict[str, Any], fields: tuple[str, ...], session: str, notes: list[str]) -> dict[str, Any]:
    missing = [name for name in fields if name not in request]
    if not session or not missing:
        return request
    notes.append(f"session id sent as {', '.join(missing)}")
    return {**request, **dict.fromkeys(missing, session)}


@lru_cache(maxsize=64)
def _forwards_betas(forward_headers: tuple[str, ...]) -> bool:
    """The profile forwards `anthropic-beta` at all (OpenAI-format wires forward no client header)."""
    return any(fnmatchcase("anthropic-beta", glob.lower()) for glob in forward_headers)


def _without_betas(headers: Mapping[str, str], prefixes: tuple[str, ...], notes: list[str]) -> Mapping[str, str]:
    value = headers.get("anthropic-beta")
    if not value:
        return headers
    betas = [b.strip() for b in value.split(",") if b.strip()]
    kept = [b for b in betas if not b.startswith(prefixes)]
    if len(kept) == len(betas):
        return headers
    notes.append(f"anthropic-beta: {', '.join(b for b in betas if b not in kept)} not forwarded (emulated here)")
    out = {k: v for k, v in headers.items() if k != "anthropic-beta"}
    if kept:
        out["anthropic-beta"] = ",".join(kept)
    return out
