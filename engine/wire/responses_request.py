"""Anthropic Messages request -> OpenAI Responses request (`POST {base_url}/responses`).

Stateless by design: `store: false` on every request, so OpenAI keeps nothing and every turn sends
the whole conversation as `input` items; reasoning survives between turns only as the encrypted
reasoning item (`include: ["reasoning.encrypted_content"]`) carried through the client inside our
thinking block's signature (`engine.wire.reasoning`) and sent back as a `reasoning` input item.

- `system` -> `instructions` (the per-conversation `x-anthropic-billing-header:` line dropped);
  mid-conversation `role: "system"` messages -> `developer` messages in place.
- user turns -> `message` items (`input_text`, `input_image`, `input_file`); `tool_result` blocks ->
  `function_call_output` items (text, or text and images) matched to the call by `call_id`; a result
  with no call becomes user text, a call with no result gets `"(no result)"` (either would be a 400).
- assistant turns, in block order -> `reasoning` items (our thinking blocks only), assistant
  `message` items (text), `function_call` items (`call_id` = the tool_use id).
- tools -> flat function tools (`strict` per `engine.wire.responses_tools`), `tool_choice`,
  `parallel_tool_calls: false` for `disable_parallel_tool_use`.
- `max_tokens` -> `max_output_tokens` clamped to the model's limit (and raised to the profile's
  `min_output_tokens`: OpenAI rejects values below 16); thinking/`output_config.effort` ->
  `reasoning: {effort, summary}`; `output_config.format` -> `text.format`; the Claude Code session id
  -> `prompt_cache_key`; a `metadata.user_id` -> `safety_identifier` (hashed when over 64 characters).
- Dropped: `stop_sequences` (the Responses API has no stop parameter), `top_k`, `cache_control`,
  Anthropic's `service_tier` (same name, other values: set OpenAI's through `extra_body`), and what
  the profile's `reject_fields` name (sampling parameters for reasoning models).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson
from cc_proxy.engine.profiles import Profile
from cc_proxy.engine.snapshot import ResolvedModel
from cc_proxy.engine.wire.openai_request import (
    ERROR_PREFIX,
    NO_RESULT,
    deep_merge,
    search_result_text,
    source_url,
    system_text,
)
from cc_proxy.engine.wire.reasoning import read_thinking_block, requested_effort, thinking_mode
from cc_proxy.engine.wire.responses_tools import function_tools, strict_qualifies, tool_choice
from cc_proxy.engine.wire.types import UpstreamRequest

SESSION_HEADER = "x-claude-code-session-id"
ENCRYPTED_REASONING = "reasoning.encrypted_content"
_ID_MAX = 64  # OpenAI's limit on safety_identifier / prompt_cache_key

# Responses fields a rule or a model's `params` may set on the request: passed through as is.
PASSTHROUGH_FIELDS: tuple[str, ...] = (
    "reasoning",
    "text",
    "include",
    "parallel_tool_calls",
    "prompt_cache_key",
    "prompt_cache_retention",
    "safety_identifier",
    "truncation",
    "max_tool_calls",
    "top_logprobs",
)


def build_request(target: ResolvedModel, request: dict[str, Any], client_headers: Mapping[str, str]) -> UpstreamRequest:
    """The upstream request; of the client's headers only the session id is read (never forwarded)."""
    body = translate_request(target, request, client_headers.get(SESSION_HEADER))
    return UpstreamRequest(
        path="/responses",
        headers={"content-type": "application/json"},
        body=orjson.dumps(body),
        stream=body.get("stream") is True,
    )


def translate_request(target: ResolvedModel, request: dict[str, Any], session_id: str | None = None) -> dict[str, Any]:
    profile = target.provider.profile
    model = request.get("model")
    body: dict[str, Any] = {"model": model if isinstance(model, str) else target.upstream_model or ""}
    instructions = system_text(request.get("system"))
    if instructions:
        body["instructions"] = instructions
    body["input"] = _Input(target).build(request.get("messages"))

    tools = (
        function_tools(request.get("tools"), profile.schema_drop_keywords, profile.strict_tools)
        if target.capabilities.tools
        else []
    )
    if tools:
        body["tools"] = tools
        choice = request.get("tool_choice")
        if isinstance(choice, dict):
            mapped = tool_choice(choice, {t["name"] for t in tools})
            if mapped is not None:
                body["tool_choice"] = mapped
            if choice.get("disable_parallel_tool_use") is True and profile.send_parallel_tool_calls:
                body["parallel_tool_calls"] = False

    max_tokens = request.get("max_tokens")
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool):
        limit = min(max_tokens, target.max_tokens) if target.max_tokens else max_tokens
        body["max_output_tokens"] = max(limit, profile.min_output_tokens)
    for field in ("temperature", "top_p"):
        value = request.get(field)
        if isinstance(value, int | float) and not isinstance(value, bool):
            body[field] = value
    if request.get("stream") is True:
        body["stream"] = True

    if target.capabilities.thinking:
        reasoning = _reasoning(request, profile)
        if reasoning:
            body["reasoning"] = reasoning
        # Encrypted reasoning only for reasoning models: others 400 on this include.
        body["include"] = [ENCRYPTED_REASONING]
    body["store"] = False
    text_format = _text_format(request, profile)
    if text_format is not None:
        body["text"] = {"format": text_format}

    cache_key = session_id if isinstance(session_id, str) and session_id else _session_of(request)
    if cache_key:
        body["prompt_cache_key"] = _bounded(cache_key)
    user_id = _dict(request.get("metadata")).get("user_id")
    if profile.send_user and isinstance(user_id, str) and user_id:
        body["safety_identifier"] = _bounded(user_id)

    for field in PASSTHROUGH_FIELDS:
        if field in request:
            body[field] = request[field]
    for field in profile.reject_fields:
        body.pop(field, None)
    if target.extra_body:
        deep_merge(body, target.extra_body)
    return body


def _reasoning(request: Mapping[str, Any], profile: Profile) -> dict[str, Any]:
    """`{effort, summary}` with thinking on; thinking disabled: the lowest effort and no summary (a
    reasoning model always reasons; left at its default it may spend a small max_tokens on thought)."""
    mode = thinking_mode(request)
    if mode not in ("enabled", "adaptive", "disabled"):
        return {}
    reasoning: dict[str, Any] = {}
    effort = requested_effort(request, profile.reasoning_efforts)
    if effort is not None:
        reasoning["effort"] = effort
    if mode != "disabled" and profile.reasoning_summary is not None:
        reasoning["summary"] = profile.reasoning_summary
    return reasoning


def _text_format(request: Mapping[str, Any], profile: Profile) -> dict[str, Any] | None:
    output_format = _dict(request.get("output_config")).get("format")
    if not isinstance(output_format, dict) or output_format.get("type") != "json_schema":
        return None
    schema = output_format.get("schema")
    if not isinstance(schema, dict):
        return None
    strict = profile.strict_tools and strict_qualifies(schema)
    return {"type": "json_schema", "name": "output", "schema": schema, "strict": strict}


def _session_of(request: Mapping[str, Any]) -> str | None:
    """Claude Code's session id from `metadata.user_id` (a JSON string) when no header carried it."""
    user_id = _dict(request.get("metadata")).get("user_id")
    if not isinstance(user_id, str) or not user_id.startswith("{"):
        return None
    try:
        parsed = orjson.loads(user_id)
    except orjson.JSONDecodeError:
        return None
    session = parsed.get("session_id") if isinstance(parsed, dict) else None
    return session if isinstance(session, str) and session else None


def _bounded(value: str) -> str:
    return value if len(value) <= _ID_MAX else hashlib.sha256(value.encode()).hexdigest()


# --- input items ----------------------------------------------------------------------------------


class _Input:
    """One pass over the Anthropic conversation; `pending` holds the call ids still unanswered."""

    def __init__(self, target: ResolvedModel) -> None:
        self.images = target.capabilities.images
        self.out: list[dict[str, Any]] = []
        self.pending: list[str] = []

    def build(self, messages: Any) -> list[dict[str, Any]]:
        for message in messages if isinstance(messages, list) else ():
            if not isinstance(message, dict):
                continue
            role, content = message.get("role"), message.get("content")
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
            if not isinstance(blocks, list):
                continue
            if role == "user":
                self._user(blocks)
            elif role == "assistant":
                self._close_calls()
                self._assistant(blocks)
            elif role == "system":
                self._close_calls()
                text = system_text(blocks)
                if text:
                    self.out.append(_message("developer", [{"type": "input_text", "text": text}]))
        self._close_calls()
        return self.out

    def _close_calls(self) -> None:
        for call_id in self.pending:
            self.out.append({"type": "function_call_output", "call_id": call_id, "output": NO_RESULT})
        self.pending = []

    def _user(self, blocks: list[Any]) -> None:
        parts: list[dict[str, Any]] = []
        for block in blocks:
            if not isinstance(block, dict):
                continue
            if block.get("type") != "tool_result":
                part = self._part(block)
                if part is not None:
                    parts.append(part)
                continue
            call_id = block.get("tool_use_id")
            output = self._tool_output(block)
            if isinstance(call_id, str) and call_id in self.pending:
                self.pending.remove(call_id)
                self.out.append({"type": "function_call_output", "call_id": call_id, "output": output})
            else:  # no matching call (e.g. history compacted away): keep it as user content
                label = f"[tool result {call_id}]"
                if isinstance(output, str):
                    parts.append({"type": "input_text", "text": f"{label}\n{output}"})
                else:
                    parts.extend([{"type": "input_text", "text": label}, *output])
        self._close_calls()
        if parts:
            self.out.append(_message("user", parts))

    def _tool_output(self, block: dict[str, Any]) -> str | list[dict[str, Any]]:
        """Text only: one string; with images or files: the output item list the API takes."""
        content = block.get("content")
        inner = [{"type": "text", "text": content}] if isinstance(content, str) else content
        parts: list[dict[str, Any]] = []
        for item in inner if isinstance(inner, list) else ():
            if not isinstance(item, dict):
                continue
            if item.get("type") == "tool_reference":
                parts.append({"type": "input_text", "text": f"Tool loaded: {item.get('tool_name', '')}"})
                continue
            part = self._part(item)
            if part is not None:
                parts.append(part)
        error = block.get("is_error") is True
        if all(p["type"] == "input_text" for p in parts):
            text = "\n".join(p["text"] for p in parts)
            return (ERROR_PREFIX + text if text else ERROR_PREFIX.rstrip(": ")) if error else text
        if error:
            parts.insert(0, {"type": "input_text", "text": ERROR_PREFIX.rstrip(": ")})
        return parts

    def _part(self, block: dict[str, Any]) -> dict[str, Any] | None:
        """A user content block as a Responses input content part (None: nothing to send)."""
        kind = block.get("type")
        if kind == "text":
            text = block.get("text")
            return {"type": "input_text", "text": text} if isinstance(text, str) and text.strip() else None
        if kind == "image":
            if not self.images:
                return {"type": "input_text", "text": "[image omitted: this model does not accept images]"}
            url = source_url(_dict(block.get("source")))
            return {"type": "input_image", "image_url": url, "detail": "auto"} if url else None
        if kind == "document":
            return _document(block)
        if kind == "search_result":
            text = search_result_text(block)
            return {"type": "input_text", "text": text} if text else None
        return None  # thinking, server-tool history and unknown blocks carry nothing for the model

    def _assistant(self, blocks: list[Any]) -> None:
        turn: list[dict[str, Any]] = []
        texts: list[str] = []
        for block in blocks:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text":
                text = block.get("text")
                if isinstance(text, str) and text.strip():
                    texts.append(text)
                continue
            if kind == "tool_use":
                call_id, name = block.get("id"), block.get("name")
                if not isinstance(call_id, str) or not isinstance(name, str):
                    continue
                _flush_text(texts, turn)
                arguments = orjson.dumps(block.get("input", {})).decode()
                turn.append({"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments})
                self.pending.append(call_id)
            elif kind == "thinking":
                restored = read_thinking_block(block)
                if restored is not None and restored.item is not None:
                    _flush_text(texts, turn)
                    turn.append(_reasoning_item(restored.item, restored.text))
        _flush_text(texts, turn)
        # OpenAI 400s on a reasoning item "provided without its required following item" (a turn cut
        # off while reasoning): trailing reasoning items of a turn are not sent.
        while turn and turn[-1]["type"] == "reasoning":
            turn.pop()
        self.out.extend(turn)


def _flush_text(texts: list[str], into: list[dict[str, Any]]) -> None:
    if texts:
        into.append(_message("assistant", "\n\n".join(texts)))
        texts.clear()


def _message(role: str, content: str | list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "message", "role": role, "content": content}


def _reasoning_item(item: Mapping[str, Any], text: str) -> dict[str, Any]:
    """The reasoning item as it came (id, encrypted_content), its summary restored from the text."""
    restored: dict[str, Any] = {"type": "reasoning", **item}
    restored["summary"] = [{"type": "summary_text", "text": text}] if text else []
    return restored


def _document(block: Mapping[str, Any]) -> dict[str, Any] | None:
    source = _dict(block.get("source"))
    kind = source.get("type")
    if kind == "text" and isinstance(source.get("data"), str):
        return {"type": "input_text", "text": source["data"]}
    if kind == "base64" and isinstance(source.get("data"), str):
        name = block.get("title") if isinstance(block.get("title"), str) else "document.pdf"
        media_type = source.get("media_type") or "application/pdf"
        return {"type": "input_file", "filename": name, "file_data": f"data:{media_type};base64,{source['data']}"}
    if kind == "url" and isinstance(source.get("url"), str):
        return {"type": "input_file", "file_url": source["url"]}
    if kind == "content" and isinstance(source.get("content"), list):
        texts = [c.get("text", "") for c in source["content"] if isinstance(c, dict) and c.get("type") == "text"]
        return {"type": "input_text", "text": "\n".join(texts)} if texts else None
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
