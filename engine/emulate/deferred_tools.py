"""Tool search for upstreams without it: deferred tools stay hidden until a `tool_reference` loads them.

Claude Code sends deferred tools with `defer_loading: true` (2.1.332: a `DeferredToolPlaceholder`, "never
call this tool", and each MCP tool once ToolSearch found it; other clients may send every schema), plus
a client-side `ToolSearch` tool whose `tool_result` holds `tool_reference` blocks naming the tools it
found. The Anthropic API shows the model only the tools not deferred and those some `tool_reference`
in the conversation has loaded, and expands each reference in place. Here the same, as data:

- `tools`: every tool without `defer_loading: true`, plus the deferred ones a `tool_reference`
  anywhere in the messages names (or `tool_choice` forces), sent as ordinary tools; with the profile's
  `defer_tools: false` every tool is sent (the upstream prefers them all at once).
- each `tool_reference` block becomes a text block saying the tool is loaded, so no wire needs to
  know the block type and the model reads, in the ToolSearch result, that it may call the tool now.

A request with no deferred tool is returned as is after one pass over `tools`.
"""

from __future__ import annotations

from typing import Any

LOADED_TEXT = "Tool {name} is loaded: it can be called now."


def hide_deferred_tools(request: dict[str, Any], defer: bool, notes: list[str]) -> dict[str, Any]:
    tools = request.get("tools")
    if type(tools) is not list:
        return request
    for tool in tools:  # the common case, no deferred tool, in one plain loop (per request)
        if type(tool) is dict and tool.get("defer_loading") is True:
            break
    else:
        return request
    out = dict(request)
    loaded, messages = _expand_references(request.get("messages"))
    if messages is not None:
        out["messages"] = messages
    forced = request.get("tool_choice")
    if isinstance(forced, dict) and forced.get("type") == "tool" and isinstance(forced.get("name"), str):
        loaded.add(forced["name"])
    kept: list[Any] = []
    hidden: list[str] = []
    shown: list[str] = []
    for tool in tools:
        if not _deferred(tool):
            kept.append(tool)
            continue
        name = tool.get("name")
        if defer and name not in loaded:
            hidden.append(str(name))
            continue
        shown.append(str(name))
        kept.append({key: value for key, value in tool.items() if key != "defer_loading"})
    out["tools"] = kept
    if defer:
        note = f"defer_tools: {len(hidden)} deferred tool(s) hidden until ToolSearch loads them"
        note += f" ({', '.join(hidden)})" if hidden else ""
        note += f"; loaded: {', '.join(shown)}" if shown else ""
    else:
        note = f"defer_tools off: {len(shown)} deferred tool(s) sent as ordinary tools ({', '.join(shown)})"
    notes.append(note)
    return out


def _deferred(tool: Any) -> bool:
    return isinstance(tool, dict) and tool.get("defer_loading") is True


def _expand_references(messages: Any) -> tuple[set[str], list[Any] | None]:
    """The tool names `tool_reference` blocks load, and the messages with those blocks as text (None:
    there were none, the messages are unchanged)."""
    loaded: set[str] = set()
    if not isinstance(messages, list):
        return loaded, None
    out: list[Any] | None = None
    for index, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list) or message.get("role") != "user":
            continue
        blocks: list[Any] | None = None
        for position, block in enumerate(content):
            inner = block.get("content") if isinstance(block, dict) and block.get("type") == "tool_result" else None
            if not isinstance(inner, list):
                continue
            expanded = _expand_result(inner, loaded)
            if expanded is None:
                continue
            if blocks is None:
                blocks = list(content)
            blocks[position] = {**block, "content": expanded}
        if blocks is not None:
            if out is None:
                out = list(messages)
            out[index] = {**message, "content": blocks}
    return loaded, out


def _expand_result(inner: list[Any], loaded: set[str]) -> list[Any] | None:
    out: list[Any] | None = None
    for position, item in enumerate(inner):
        if not isinstance(item, dict) or item.get("type") != "tool_reference":
            continue
        name = item.get("tool_name")
        if not isinstance(name, str):
            continue
        loaded.add(name)
        if out is None:
            out = list(inner)
        out[position] = {"type": "text", "text": LOADED_TEXT.format(name=name)}
    return out
