"""The inline profile model (`"profile": {"extends": "openai", ...}`), derived from engine.profiles.Profile:
every Profile field (but name and format) is an optional override, so a field added there is
configurable at once. Descriptions below are what editors show; a field without one gets a pointer."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from annotated_types import Ge
from cc_proxy.engine.config_types import Name, Strict
from cc_proxy.engine.profiles import Profile
from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr, create_model

DESCRIPTIONS: dict[str, str] = {
    "forward_headers": "Client headers forwarded upstream (lower-case globs).",
    "beta_allow": '`anthropic-beta` values forwarded (globs); ["*"]: all.',
    "drop_fields": "Top-level request fields removed (anthropic format).",
    "strip_cache_control": "Remove every `cache_control`.",
    "drop_tool_fields": 'Tool-definition fields removed, e.g. "strict".',
    "max_tokens_field": "Which field carries the output limit (OpenAI format).",
    "reasoning_request": "How thinking is requested (OpenAI format).",
    "reasoning_response_fields": "Response fields that carry reasoning text, first present wins.",
    "reasoning_echo_field": "Assistant-message field reasoning is sent back in.",
    "reasoning_echo_placeholder": "Sent on an assistant tool-call message that has no reasoning to echo.",
    "reasoning_efforts": 'Reasoning effort levels accepted, lowest first, e.g. ["low", "medium", "high"].',
    "system_role": "Role of the system prompt.",
    "stream_usage": "Send stream_options.include_usage.",
    "send_user": "Send metadata.user_id as `user`.",
    "send_parallel_tool_calls": "Send parallel_tool_calls.",
    "send_top_k": "The upstream understands `top_k`.",
    "inline_system_messages": "System messages accepted mid-conversation; false: folded into the leading one.",
    "max_stop_sequences": "Most `stop` entries the upstream accepts.",
    "reject_fields": "OpenAI-format request fields the upstream rejects.",
    "schema_drop_keywords": "JSON Schema keywords removed from tool parameters.",
    "split_think_tags": "Split inline <think>...</think> into a thinking block.",
    "tool_search_native": "The upstream hides `defer_loading` tools and expands `tool_reference` itself.",
    "defer_tools": "Hide deferred tools until ToolSearch loads them; false: send every tool at once.",
    "native_context_edits": "context_management edit types the upstream applies itself (the proxy applies the rest).",
    "safeguards_native": "The upstream answers Claude Code's auto-mode `safeguards` itself.",
    "beta_reject": "`anthropic-beta` values never forwarded (globs).",
    "pdf_files": "PDF documents are accepted as files; false: their extracted text is sent instead.",
    "session_fields": 'OpenAI-format fields set to the Claude Code session id, e.g. ["prompt_cache_key"].',
    "model_path_prefix": 'Path of a model under base_url (Gemini format): "/v1beta/models/" or Vertex "/models/".',
    "api_key_header": 'Header the key goes in: "authorization" (Bearer), "x-api-key" or "x-goog-api-key".',
    "tool_schema_field": 'Gemini tool schemas as cleaned "parameters" or as "parametersJsonSchema".',
    "thinking_config": 'Gemini thinking as a token "budget" (2.5) or a "level" from the effort (3).',
    "repair_tool_calls": "Repair tool arguments that are not JSON or off-schema (streamed tool input is held).",
    "rate_limit_retry": 'A 429 without retry-after: "fallback" at once, or "backoff" (a short jittered retry).',
}
_SCALARS: dict[Any, Any] = {
    str: StrictStr,
    bool: StrictBool,
    int: Annotated[StrictInt, Ge(0)],
    float: StrictFloat,
}


def config_type(hint: Any) -> Any:
    """A Profile field's type as a strict config type; `X | None` becomes X (null is never a value)."""
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        members = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(members) != 1:
            raise TypeError(f"unsupported profile field type {hint!r}")
        return config_type(members[0])
    if origin is Literal:
        return hint
    if origin is tuple:
        item, ellipsis = typing.get_args(hint)
        if ellipsis is not Ellipsis:
            raise TypeError(f"unsupported profile field type {hint!r}")
        return tuple[config_type(item), ...]  # type: ignore[misc]
    if hint in _SCALARS:
        return _SCALARS[hint]
    raise TypeError(f"unsupported profile field type {hint!r}: add it to engine/inline_profile.py")


class InlineProfileBase(Strict):
    """A profile built from a built-in one with some fields changed (see engine/profiles.py)."""

    extends: Name = Field(description='Built-in profile to start from, e.g. "openai".')

    def overrides(self) -> dict[str, Any]:
        """The fields given in the file (everything but `extends`)."""
        return {k: getattr(self, k) for k in self.model_fields_set if k != "extends"}


def _fields() -> dict[str, Any]:
    hints = typing.get_type_hints(Profile)
    out: dict[str, Any] = {}
    for f in dataclasses.fields(Profile):
        if f.name in ("name", "format"):
            continue
        description = DESCRIPTIONS.get(f.name, f"Profile field `{f.name}` (engine/profiles.py).")
        out[f.name] = (config_type(hints[f.name]) | None, Field(default=None, description=description))
    return out


if TYPE_CHECKING:
    InlineProfile = InlineProfileBase
else:
    InlineProfile = create_model(
        "InlineProfile", __base__=InlineProfileBase, __doc__=InlineProfileBase.__doc__, **_fields()
    )
