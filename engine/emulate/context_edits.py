"""`context_management.edits` applied in the proxy, as the Anthropic API applies them before the model
sees the prompt (docs: build-with-claude/context-editing), for upstreams that have no such feature.

- `clear_thinking_20251015`: `keep` is `"all"` (nothing cleared: what Claude Code sends) or
  `{"type": "thinking_turns", "value": N}` (default N = 1): thinking blocks (and redacted ones) of
  every assistant turn but the last N turns that have some are removed.
- `clear_tool_uses_20250919`: once `trigger` is reached (`{"type": "input_tokens" | "tool_uses",
  "value": N}`, default 100,000 input tokens), the oldest tool results are replaced by a placeholder,
  all but the last `keep` tool uses (`{"type": "tool_uses", "value": N}`, default 3) and those of
  `exclude_tools`; `clear_tool_inputs` (true, or a list of tool names) also empties the calls' inputs.
  When `clear_at_least` (`{"type": "input_tokens", "value": N}`) cannot be reached, nothing is cleared.

The client keeps its full history; each applied edit is reported back as the API does, in
`context_management.applied_edits` of the answer (`cleared_thinking_turns` / `cleared_tool_uses` and
`cleared_input_tokens`). An edit type not known here is left to the wire (which drops it) and noted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CLEAR_THINKING = "clear_thinking_20251015"
CLEAR_TOOL_USES = "clear_tool_uses_20250919"
EMULATED_EDITS: tuple[str, ...] = (CLEAR_THINKING, CLEAR_TOOL_USES)
CLEARED_RESULT = "[tool result cleared by context management]"
DEFAULT_TRIGGER_TOKENS = 100_000
DEFAULT_KEEP_TOOL_USES = 3
DEFAULT_KEEP_THINKING_TURNS = 1

Counter = Callable[[Any], int]  # content (a string or blocks) -> tokens


def apply_edits(
    request: dict[str, Any],
    emulated: tuple[str, ...],
    input_tokens: Callable[[], int],
    count: Counter,
    notes: list[str],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The request with the edits of `emulated` types applied (and `context_management` removed when
    nothing is left in it), and the applied edits to report. Unchanged when there are no edits."""
    config = request.get("context_management")
    edits = config.get("edits") if isinstance(config, dict) else None
    if not isinstance(config, dict) or not isinstance(edits, list) or not edits:
        return request, []
    out = dict(request)
    messages = request.get("messages")
    messages = list(messages) if isinstance(messages, list) else []
    applied: list[dict[str, Any]] = []
    left: list[Any] = []
    for edit in edits:
        kind = edit.get("type") if isinstance(edit, dict) else None
        if kind not in emulated or not isinstance(edit, dict):
            left.append(edit)
            notes.append(f"context_management: {kind} is not emulated for this upstream: dropped")
            continue
        if kind == CLEAR_THINKING:
            result = _clear_thinking(messages, edit, count)
        else:
            result = _clear_tool_uses(messages, edit, input_tokens, count)
        if result is None:
            notes.append(f"context_management: {kind} applied, nothing to clear")
            continue
        messages, report = result
        applied.append(report)
        notes.append(f"context_management: {kind} applied: {_describe(report)}")
    out["messages"] = messages
    if left:
        out["context_management"] = {**config, "edits": left}
    else:
        out.pop("context_management", None)
    return out, applied


def _describe(report: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in report.items() if k != "type")


def _value(spec: Any, kind: str, default: int) -> int:
    if isinstance(spec, dict) and spec.get("type") == kind:
        value = spec.get("value")
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return default


# --- thinking ------------------------------------------------------------------------------------


def _is_thinking(block: Any) -> bool:
    return isinstance(block, dict) and block.get("type") in ("thinking", "redacted_thinking")


def _clear_thinking(
    messages: list[Any], edit: dict[str, Any], count: Counter
) -> tuple[list[Any], dict[str, Any]] | None:
    keep = edit.get("keep")
    if keep == "all":
        return None
    keep_turns = _value(keep, "thinking_turns", DEFAULT_KEEP_THINKING_TURNS)
    turns = [
        i
        for i, m in enumerate(messages)
        if isinstance(m, dict)
        and m.get("role") == "assistant"
        and isinstance(m.get("content"), list)
        and any(_is_thinking(b) for b in m["content"])
    ]
    clear = turns[: max(len(turns) - keep_turns, 0)]
    if not clear:
        return None
    tokens = 0
    for index in clear:
        message = messages[index]
        dropped = [b for b in message["content"] if _is_thinking(b)]
        tokens += count(dropped)
        messages[index] = {**message, "content": [b for b in message["content"] if not _is_thinking(b)]}
    return messages, {"type": CLEAR_THINKING, "cleared_thinking_turns": len(clear), "cleared_input_tokens": tokens}


# --- tool uses -----------------------------------------------------------------------------------


def _clear_tool_uses(
    messages: list[Any], edit: dict[str, Any], input_tokens: Callable[[], int], count: Counter
) -> tuple[list[Any], dict[str, Any]] | None:
    uses = _tool_uses(messages)  # (message index, block index, id, name), oldest first
    trigger = edit.get("trigger")
    if isinstance(trigger, dict) and trigger.get("type") == "tool_uses":
        if len(uses) <= _value(trigger, "tool_uses", 0):
            return None
    elif input_tokens() <= _value(trigger, "input_tokens", DEFAULT_TRIGGER_TOKENS):
        return None
    keep = _value(edit.get("keep"), "tool_uses", DEFAULT_KEEP_TOOL_USES)
    excluded = {name for name in edit.get("exclude_tools") or () if isinstance(name, str)}
    candidates = [use for use in uses if use[3] not in excluded]
    candidates = candidates[: max(len(candidates) - keep, 0)]
    if not candidates:
        return None
    clear_inputs = edit.get("clear_tool_inputs")
    ids = {use[2]: use for use in candidates}
    results = _results_by_id(messages, ids)
    tokens = sum(count(messages[m]["content"][b].get("content", "")) for m, b in results.values())
    named = clear_inputs if isinstance(clear_inputs, list) else ()
    inputs = [use for use in candidates if clear_inputs is True or use[3] in named]
    tokens += sum(count(str(messages[m]["content"][b].get("input", ""))) for m, b, _, _ in inputs)
    least = _value(edit.get("clear_at_least"), "input_tokens", 0)
    if tokens < least:
        return None
    edited: dict[int, list[Any]] = {}
    for m, b in results.values():
        blocks = edited.setdefault(m, list(messages[m]["content"]))
        blocks[b] = {**blocks[b], "content": CLEARED_RESULT}
    for m, b, _, _ in inputs:
        blocks = edited.setdefault(m, list(messages[m]["content"]))
        blocks[b] = {**blocks[b], "input": {}}
    for m, blocks in edited.items():
        messages[m] = {**messages[m], "content": blocks}
    return messages, {"type": CLEAR_TOOL_USES, "cleared_tool_uses": len(candidates), "cleared_input_tokens": tokens}


def _tool_uses(messages: list[Any]) -> list[tuple[int, int, str, str]]:
    out: list[tuple[int, int, str, str]] = []
    for m, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        content = message.get("content")
        for b, block in enumerate(content if isinstance(content, list) else ()):
            if isinstance(block, dict) and block.get("type") == "tool_use":
                call_id, name = block.get("id"), block.get("name")
                if isinstance(call_id, str) and isinstance(name, str):
                    out.append((m, b, call_id, name))
    return out


def _results_by_id(messages: list[Any], ids: dict[str, Any]) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    for m, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        for b, block in enumerate(content if isinstance(content, list) else ()):
            if isinstance(block, dict) and block.get("type") == "tool_result" and block.get("tool_use_id") in ids:
                found[block["tool_use_id"]] = (m, b)
    return found
