"""Checks that a request body is a valid OpenAI Chat Completions request (what a strict upstream such as
OpenAI or DeepSeek would accept), per the API reference: known top-level fields only, well-formed
messages, every tool call answered by a tool message right after it, tools as functions."""

from __future__ import annotations

import json
from typing import Any

# Chat Completions request fields (OpenAI API reference), plus DeepSeek's `thinking` toggle.
KNOWN_FIELDS = frozenset(
    {
        "model", "messages", "max_tokens", "max_completion_tokens", "stream", "stream_options", "temperature",
        "top_p", "stop", "tools", "tool_choice", "parallel_tool_calls", "user", "reasoning_effort", "metadata",
        "response_format", "seed", "n", "presence_penalty", "frequency_penalty", "logprobs", "top_logprobs",
        "logit_bias", "service_tier", "store", "prediction", "modalities", "audio", "web_search_options",
        "verbosity", "prompt_cache_key", "safety_identifier", "thinking",
    }
)  # fmt: skip
ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})


def _text_parts_ok(content: Any, *, images: bool = False) -> bool:
    if isinstance(content, str):
        return True
    allowed = {"text", "image_url"} if images else {"text"}
    return isinstance(content, list) and all(
        isinstance(p, dict) and p.get("type") in allowed and (p["type"] != "text" or isinstance(p.get("text"), str))
        for p in content
    )


def _tool_call_problems(call: Any, where: str) -> list[str]:
    if not (isinstance(call, dict) and call.get("type") == "function" and isinstance(call.get("id"), str)):
        return [f"{where}: not a function tool call with an id: {call!r}"]
    function = call.get("function") or {}
    if not isinstance(function.get("name"), str):
        return [f"{where}: tool call without a name"]
    raw = function.get("arguments")
    try:
        arguments = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        arguments = None
    if arguments is None:
        return [f"{where}: arguments are not a JSON string: {raw!r}"]
    return [] if isinstance(arguments, dict) else [f"{where}: arguments are not a JSON object"]


def _message_problems(messages: list[Any]) -> list[str]:
    problems: list[str] = []
    pending: list[str] = []  # tool_call ids of the last assistant message not yet answered
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        role = m.get("role") if isinstance(m, dict) else None
        if role not in ROLES:
            problems.append(f"{where}: role {role!r}")
            continue
        if role == "tool":
            if m.get("tool_call_id") not in pending:
                problems.append(f"{where}: tool_call_id {m.get('tool_call_id')!r} answers no pending tool call")
            else:
                pending.remove(m["tool_call_id"])
            if not _text_parts_ok(m.get("content")):
                problems.append(f"{where}: tool content is not text")
            continue
        if pending:
            problems.append(f"{where}: tool calls {pending} of the assistant before were never answered")
            pending = []
        if role == "assistant":
            calls = m.get("tool_calls") or []
            for j, call in enumerate(calls):
                problems += _tool_call_problems(call, f"{where}.tool_calls[{j}]")
            pending = [c["id"] for c in calls if isinstance(c, dict) and isinstance(c.get("id"), str)]
            if m.get("content") is not None and not _text_parts_ok(m["content"]):
                problems.append(f"{where}: assistant content is not text")
            if m.get("content") is None and not calls:
                problems.append(f"{where}: assistant message with neither content nor tool calls")
        elif not _text_parts_ok(m.get("content"), images=role == "user"):
            problems.append(f"{where}: {role} content has parts that are not text/images")
    if pending:
        problems.append(f"tool calls {pending} of the last assistant message were never answered")
    return problems


def chat_request_problems(body: Any) -> list[str]:
    """Everything wrong with `body` as a Chat Completions request; empty when valid."""
    if not isinstance(body, dict):
        return ["body is not a JSON object"]
    problems = [f"unknown field {k!r}" for k in sorted(set(body) - KNOWN_FIELDS)]
    if not isinstance(body.get("model"), str):
        problems.append("no model")
    messages = body.get("messages")
    if not (isinstance(messages, list) and messages):
        return [*problems, "no messages"]
    problems += _message_problems(messages)
    for i, tool in enumerate(body.get("tools") or []):
        function = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
        if not (isinstance(function, dict) and isinstance(function.get("name"), str)):
            problems.append(f"tools[{i}]: not a function tool")
        elif not isinstance(function.get("parameters", {}), dict):
            problems.append(f"tools[{i}]: parameters is not a JSON Schema object")
    if "stream_options" in body and body.get("stream") is not True:
        problems.append("stream_options without stream")
    return problems
