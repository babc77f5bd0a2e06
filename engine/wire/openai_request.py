"""Anthropic Messages request -> OpenAI Chat Completions request.

Provider differences are data (`Profile`), never provider names here. The request has already been
routed and rewritten: `model` is the upstream name. What is not translated is dropped (OpenAI-dialect
servers 400 on unknown fields): `cache_control`, `context_management`, `container`, `mcp_servers`,
`service_tier`, `betas`, tool `defer_loading`/`strict`/`eager_input_streaming`, server tools, thinking
blocks that are not ours (see `engine.wire.reasoning`).

Messages, in order: system blocks (the `x-anthropic-billing-header:` line dropped: it changes per
conversation and defeats prefix caches) and `role: "system"` messages become `system`/`developer`
messages (in place, or appended to the leading one when the profile says later ones are rejected);
a user turn's `tool_result` blocks become `tool` messages right after the assistant turn that made the
calls (a result with no matching call becomes user text, a call with no result gets a `"(no result)"`
tool message: either would be a 400); images inside tool results, which `tool` messages cannot carry,
follow in one user message together with the turn's own text and images.

Tool ids and names pass unchanged: Anthropic and OpenAI share `^[a-zA-Z0-9_-]{1,64}$` for names, and
OpenAI-dialect servers accept any id string. A `metadata.user_id` longer than 64 characters (Claude
Code sends a JSON blob with device and session ids) is sent as its SHA-256 hex digest.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

import orjson
from cc_proxy.engine.snapshot import ResolvedModel
from cc_proxy.engine.wire.openai_tools import tool_choice, tool_definitions
from cc_proxy.engine.wire.reasoning import read_thinking_block, reasoning_fields
from cc_proxy.engine.wire.responses_tools import strict_qualifies
from cc_proxy.engine.wire.types import UpstreamRequest

BILLING_HEADER_PREFIX = "x-anthropic-billing-header:"
NO_RESULT = "(no result)"
ERROR_PREFIX = "Error: "  # OpenAI has no is_error flag: the model reads it in the text
_ALNUM9 = re.compile(r"[A-Za-z0-9]{9}")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_USER_MAX = 64  # longer `metadata.user_id` values (Claude Code sends ~150-char JSON) are hashed

# OpenAI-dialect fields a rule or a model's `params` may set on the request: passed through as is.
PASSTHROUGH_FIELDS: tuple[str, ...] = (
    "frequency_penalty",
    "presence_penalty",
    "seed",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "reasoning_effort",
    "reasoning",
    "response_format",
    "parallel_tool_calls",
    "prompt_cache_key",
    "user",
    "safety_identifier",
    "verbosity",
    "store",
    "min_p",
    "repetition_penalty",
    "chat_template_kwargs",
)


def build_request(target: ResolvedModel, request: dict[str, Any], client_headers: Mapping[str, str]) -> UpstreamRequest:
    """The upstream request; `client_headers` are not forwarded (OpenAI-dialect servers need none)."""
    del client_headers
    body = translate_request(target, request)
    return UpstreamRequest(
        path="/chat/completions",
        headers={"content-type": "application/json"},
        body=orjson.dumps(body),
        stream=body.get("stream") is True,
    )


def translate_request(target: ResolvedModel, request: dict[str, Any]) -> dict[str, Any]:
    profile = target.provider.profile
    model = request.get("model")
    body: dict[str, Any] = {"model": model if isinstance(model, str) else target.upstream_model or ""}
    tools = tool_definitions(request.get("tools"), profile.schema_drop_keywords) if target.capabilities.tools else []
    body["messages"] = _Messages(target).build(request)

    max_tokens = request.get("max_tokens")
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool):
        if target.max_tokens is not None:
            max_tokens = min(max_tokens, target.max_tokens)
        body[profile.max_tokens_field] = max_tokens
    for field in ("temperature", "top_p"):
        if _number(request.get(field)):
            body[field] = request[field]
    top_k = request.get("top_k")
    if profile.send_top_k and isinstance(top_k, int) and not isinstance(top_k, bool):
        body["top_k"] = top_k
    stops = request.get("stop_sequences")
    if isinstance(stops, list) and stops:
        stops = [s for s in stops if isinstance(s, str) and s]
        if profile.max_stop_sequences is not None:
            stops = stops[: profile.max_stop_sequences]
        if stops:
            body["stop"] = stops
    if request.get("stream") is True:
        body["stream"] = True
        if profile.stream_usage:
            body["stream_options"] = {"include_usage": True}

    if tools:
        body["tools"] = tools
        names = {t["function"]["name"] for t in tools}
        choice = request.get("tool_choice")
        if isinstance(choice, dict):
            mapped = tool_choice(choice, names)
            if mapped is not None:
                body["tool_choice"] = mapped
            if choice.get("disable_parallel_tool_use") is True and profile.send_parallel_tool_calls:
                body["parallel_tool_calls"] = False

    if target.capabilities.thinking:
        body.update(reasoning_fields(request, profile.reasoning_request, profile.reasoning_efforts))
    output_format = _dict(request.get("output_config")).get("format")
    if isinstance(output_format, dict) and output_format.get("type") == "json_schema":
        schema = output_format.get("schema")
        if isinstance(schema, dict):
            json_schema: dict[str, Any] = {"name": "output", "schema": schema}
            if profile.strict_tools:  # enforced where the schema is inside OpenAI's strict subset
                json_schema["strict"] = strict_qualifies(schema)
            body["response_format"] = {"type": "json_schema", "json_schema": json_schema}

    user_id = _dict(request.get("metadata")).get("user_id")
    if profile.send_user and isinstance(user_id, str) and user_id:
        body["user"] = user_id if len(user_id) <= _USER_MAX else hashlib.sha256(user_id.encode()).hexdigest()

    for field in PASSTHROUGH_FIELDS:
        if field in request:
            body[field] = request[field]
    for field in profile.reject_fields:
        body.pop(field, None)
    if target.extra_body:
        deep_merge(body, target.extra_body)
    return body


# --- messages -------------------------------------------------------------------------------------


class _Messages:
    """One pass over the Anthropic conversation; `pending` holds the tool-call ids still unanswered."""

    def __init__(self, target: ResolvedModel) -> None:
        self.profile = target.provider.profile
        self.images = target.capabilities.images
        self.out: list[dict[str, Any]] = []
        self.pending: list[str] = []

    def build(self, request: Mapping[str, Any]) -> list[dict[str, Any]]:
        system = system_text(request.get("system"))
        if not self.profile.inline_system_messages:
            hoisted = [system_text(m.get("content")) for m in _system_messages(request.get("messages"))]
            system = "\n\n".join(t for t in (system, *hoisted) if t)
        if system:
            self.out.append({"role": self.profile.system_role, "content": system})
        messages = request.get("messages")
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
            elif role == "system" and self.profile.inline_system_messages:
                self._close_calls()
                text = system_text(blocks)
                if text:
                    self.out.append({"role": self.profile.system_role, "content": text})
        self._close_calls()
        return self.out

    def _id(self, call_id: str) -> str:
        """The id as the upstream accepts it: Mistral-family servers take only 9 alphanumerics, so other
        ids (toolu_..., call_...) map to a stable hash; the upstream's own ids come back unchanged."""
        if self.profile.tool_id_format == "any" or _ALNUM9.fullmatch(call_id):
            return call_id
        number = int.from_bytes(hashlib.sha256(call_id.encode()).digest()[:8], "big")
        chars = []
        for _ in range(9):
            number, digit = divmod(number, 62)
            chars.append(_BASE62[digit])
        return "".join(chars)

    def _close_calls(self) -> None:
        """Answer calls the conversation left unanswered: OpenAI 400s on a call with no tool message."""
        for call_id in self.pending:
            self.out.append({"role": "tool", "tool_call_id": self._id(call_id), "content": NO_RESULT})
        self.pending = []

    def _user(self, blocks: list[Any]) -> None:
        carried: list[dict[str, Any]] = []  # parts of tool results a tool message cannot hold
        parts: list[dict[str, Any]] = []
        for block in blocks:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_result":
                call_id = block.get("tool_use_id")
                text, media = self._tool_result(block)
                if isinstance(call_id, str) and call_id in self.pending:
                    self.pending.remove(call_id)
                    self.out.append({"role": "tool", "tool_call_id": self._id(call_id), "content": text})
                    if media:
                        carried.append({"type": "text", "text": f"[attachments of tool result {call_id}]"})
                        carried.extend(media)
                else:  # no matching call (e.g. history compacted away): keep it as user text
                    parts.append({"type": "text", "text": f"[tool result {call_id}]\n{text}"})
                    parts.extend(media)
            else:
                part = self._part(block)
                if part is not None:
                    parts.append(part)
        self._close_calls()
        merged = carried + parts
        if merged:
            self.out.append({"role": "user", "content": _content(merged)})

    def _tool_result(self, block: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        content = block.get("content")
        texts: list[str] = []
        media: list[dict[str, Any]] = []
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            for inner in content:
                if not isinstance(inner, dict):
                    continue
                kind = inner.get("type")
                if kind == "tool_reference":
                    texts.append(f"Tool loaded: {inner.get('tool_name', '')}")
                    continue
                part = self._part(inner)
                if part is None:
                    continue
                if part["type"] == "text":
                    texts.append(part["text"])
                else:
                    media.append(part)
        text = "\n".join(texts)
        if block.get("is_error") is True:
            text = ERROR_PREFIX + text if text else ERROR_PREFIX.rstrip(": ")
        return text, media

    def _part(self, block: dict[str, Any]) -> dict[str, Any] | None:
        """A user content block as an OpenAI content part (None: nothing to send)."""
        kind = block.get("type")
        if kind == "text":
            text = block.get("text")
            return {"type": "text", "text": text} if isinstance(text, str) and text.strip() else None
        if kind == "image":
            if not self.images:
                return {"type": "text", "text": "[image omitted: this model does not accept images]"}
            url = source_url(_dict(block.get("source")))
            return {"type": "image_url", "image_url": {"url": url}} if url else None
        if kind == "document":
            return _document(block)
        if kind == "search_result":
            text = search_result_text(block)
            return {"type": "text", "text": text} if text else None
        return None  # thinking, server-tool history and unknown blocks carry nothing for the model

    def _assistant(self, blocks: list[Any]) -> None:
        texts: list[str] = []
        calls: list[dict[str, Any]] = []
        reasoning: list[str] = []
        details: list[Any] = []
        ours = False
        for block in blocks:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text":
                text = block.get("text")
                if isinstance(text, str) and text.strip():
                    texts.append(text)
            elif kind == "tool_use":
                call_id, name = block.get("id"), block.get("name")
                if not isinstance(call_id, str) or not isinstance(name, str):
                    continue
                arguments = orjson.dumps(block.get("input", {})).decode()
                calls.append({"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}})
            elif kind == "thinking":
                restored = read_thinking_block(block)
                if restored is not None:
                    ours = True
                    reasoning.append(restored.text)
                    if restored.details:
                        details.extend(restored.details)
        if not texts and not calls:
            return  # only thinking / server-tool history: no assistant message to send
        message: dict[str, Any] = {"role": "assistant", "content": "\n\n".join(texts) if texts else None}
        if calls:
            message["tool_calls"] = calls
            self.pending = [c["id"] for c in calls]
            for call in calls:
                call["id"] = self._id(call["id"])
        echo = self.profile.reasoning_echo_field
        if echo is not None:
            text = "".join(reasoning)
            if echo == "reasoning_details":
                if details:  # only what OpenRouter itself produced: other reasoning has no valid details
                    message[echo] = details
            elif ours and text:
                message[echo] = text
            elif calls and self.profile.reasoning_echo_placeholder is not None:
                message[echo] = self.profile.reasoning_echo_placeholder
        self.out.append(message)


def _system_messages(messages: Any) -> list[dict[str, Any]]:
    if not isinstance(messages, list):
        return []
    return [m for m in messages if isinstance(m, dict) and m.get("role") == "system"]


def _content(parts: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """Text-only content as one string (understood by every server); parts when media is present."""
    if all(p["type"] == "text" for p in parts):
        return "\n\n".join(p["text"] for p in parts)
    return parts


def system_text(system: Any) -> str:
    if isinstance(system, str):
        return system
    if not isinstance(system, list):
        return ""
    texts = []
    for block in system:
        if isinstance(block, dict) and block.get("type") == "text":
            text = block.get("text")
            if isinstance(text, str) and text.strip() and not text.startswith(BILLING_HEADER_PREFIX):
                texts.append(text)
    return "\n\n".join(texts)


def source_url(source: Mapping[str, Any]) -> str | None:
    if source.get("type") == "base64":
        media_type, data = source.get("media_type"), source.get("data")
        if isinstance(media_type, str) and isinstance(data, str):
            return f"data:{media_type};base64,{data}"
    elif source.get("type") == "url" and isinstance(source.get("url"), str):
        url: str = source["url"]
        return url
    return None


def _document(block: Mapping[str, Any]) -> dict[str, Any] | None:
    source = _dict(block.get("source"))
    kind = source.get("type")
    if kind == "text" and isinstance(source.get("data"), str):
        return {"type": "text", "text": source["data"]}
    if kind == "base64" and isinstance(source.get("data"), str):
        name = block.get("title") if isinstance(block.get("title"), str) else "document.pdf"
        media_type = source.get("media_type") or "application/pdf"
        return {"type": "file", "file": {"file_data": f"data:{media_type};base64,{source['data']}", "filename": name}}
    if kind == "url" and isinstance(source.get("url"), str):
        return {"type": "text", "text": f"[document: {source['url']}]"}
    if kind == "content" and isinstance(source.get("content"), list):
        texts = [c.get("text", "") for c in source["content"] if isinstance(c, dict) and c.get("type") == "text"]
        return {"type": "text", "text": "\n".join(texts)} if texts else None
    return None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def search_result_text(block: dict[str, Any]) -> str:
    """A `search_result` block as plain text for upstreams without one: its title (or source), then its texts."""
    inner = block.get("content")
    texts = (
        [c["text"] for c in inner if isinstance(c, dict) and isinstance(c.get("text"), str)]
        if isinstance(inner, list)
        else []
    )
    return "\n".join([str(block.get("title") or block.get("source") or ""), *texts]).strip()


def deep_merge(into: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """`extra_body` wins; objects merge key by key, a null value removes the key."""
    for key, value in extra.items():
        if value is None:
            into.pop(key, None)
        elif isinstance(value, Mapping):
            if not isinstance(into.get(key), dict):
                into[key] = {}
            deep_merge(into[key], value)
        else:
            into[key] = value
