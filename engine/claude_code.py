"""What Claude Code says about a request, read from the headers and the request's shape (2.1.332, observed
with the real CLI: tests/fixtures/claude-code/).

- session id: the `x-claude-code-session-id` header; else the `session_id` in `metadata.user_id`, a JSON
  string (`{"device_id": ..., "account_uuid": ..., "session_id": ...}`).
- subagent: an Agent-tool subagent's turns carry `x-claude-code-agent-id` and `cc_is_subagent=true;` in
  the system prompt's first block, the `x-anthropic-billing-header:` line.
- kind: `compaction` (the `/compact` and auto-compact summary request: its last user turn asks for "a
  detailed summary of the conversation so far"), `side` (a request without tools: titles, WebFetch
  extraction and other one-shot side queries), else `main` (a conversation turn, subagents included).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import orjson

RequestKind = Literal["main", "compaction", "side"]
REQUEST_KINDS: tuple[str, ...] = ("main", "compaction", "side")

SESSION_HEADER = "x-claude-code-session-id"
AGENT_HEADER = "x-claude-code-agent-id"
BILLING_PREFIX = "x-anthropic-billing-header:"
SUBAGENT_MARK = "cc_is_subagent=true"
COMPACTION_PROMPT = "create a detailed summary of the conversation so far"
_USER_ID_MAX = 4096  # a metadata.user_id longer than this is not Claude Code's: not parsed


def session_id(request: Mapping[str, Any], headers: Mapping[str, str]) -> str:
    """The session id as sent ("" when there is none)."""
    value = headers.get(SESSION_HEADER)
    if value:
        return value
    metadata = request.get("metadata")
    user_id = metadata.get("user_id") if isinstance(metadata, dict) else None
    if isinstance(user_id, str) and user_id.startswith("{") and len(user_id) <= _USER_ID_MAX:
        try:
            parsed = orjson.loads(user_id)
        except orjson.JSONDecodeError:
            return ""
        found = parsed.get("session_id") if isinstance(parsed, dict) else None
        return found if isinstance(found, str) else ""
    return ""


def is_subagent(request: Mapping[str, Any], headers: Mapping[str, str]) -> bool:
    if AGENT_HEADER in headers:
        return True
    system = request.get("system")
    first = system[0] if isinstance(system, list) and system else None
    text = first.get("text") if isinstance(first, dict) else None
    return isinstance(text, str) and text.startswith(BILLING_PREFIX) and SUBAGENT_MARK in text


def request_kind(request: Mapping[str, Any]) -> RequestKind:
    if _last_user_text(request.get("messages")).find(COMPACTION_PROMPT) >= 0:
        return "compaction"
    tools = request.get("tools")
    return "main" if isinstance(tools, list) and tools else "side"


def _last_user_text(messages: Any) -> str:
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return "\n".join(b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str))
        return ""
    return ""
