"""Anthropic Messages request -> Gemini `generateContent` request (protocols.md 3.2, 4.7).

The request has already been routed and rewritten: `model` is the upstream name. It goes in the path
(`{model_path_prefix}{model}:generateContent`, or `:streamGenerateContent?alt=sse` for a stream), never
in the body. What has no Gemini equivalent is not sent: `metadata`, `service_tier`, `cache_control`,
`context_management`, `container`, `mcp_servers`, betas, server tools, thinking blocks that are not ours.

Contents: `system` (billing-header line dropped, as for OpenAI) and every `role: "system"` message become
`systemInstruction`; user/assistant turns become `user`/`model` contents, consecutive ones of one role
merged (Gemini expects alternation). A tool_result becomes a `functionResponse` named after its call
(`name` is required) with `{"output": text}` or, for `is_error`, `{"error": text}`; its images follow as
`inlineData` parts of the same content. Gemini 400s unless every call of a turn is answered in the next
one, so a call left without a result gets a `"(no result)"` response and a result without a call
becomes user text. Our tool_use ids and thinking signatures give back the `thoughtSignature`s and call
ids Gemini sent (engine.wire.gemini_signatures).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import orjson
from cc_proxy.engine.snapshot import ResolvedModel
from cc_proxy.engine.wire.gemini_signatures import decode_tool_id
from cc_proxy.engine.wire.gemini_tools import tool_config, tool_declarations
from cc_proxy.engine.wire.openai_request import BILLING_HEADER_PREFIX, NO_RESULT, deep_merge, search_result_text
from cc_proxy.engine.wire.reasoning import budget_to_effort, clip_effort, read_thinking_block
from cc_proxy.engine.wire.types import UpstreamRequest

# Gemini fields a rule or a model's `params`/`extra_body` may set on the request: passed through as is.
PASSTHROUGH_FIELDS: tuple[str, ...] = ("safetySettings", "cachedContent", "labels", "toolConfig")
_THINKING_ON = ("enabled", "adaptive")


def build_request(target: ResolvedModel, request: dict[str, Any], client_headers: Mapping[str, str]) -> UpstreamRequest:
    """The upstream request; `client_headers` are not forwarded (Gemini needs none of them)."""
    del client_headers
    model = request.get("model")
    name = model if isinstance(model, str) and model else target.upstream_model or ""
    name = name.removeprefix("models/")
    stream = request.get("stream") is True
    method = ":streamGenerateContent?alt=sse" if stream else ":generateContent"
    return UpstreamRequest(
        path=target.provider.profile.model_path_prefix + quote(name, safe="-._~") + method,
        headers={"content-type": "application/json"},
        body=orjson.dumps(translate_request(target, request)),
        stream=stream,
    )


def translate_request(target: ResolvedModel, request: dict[str, Any]) -> dict[str, Any]:
    profile = target.provider.profile
    body: dict[str, Any] = {}
    system = _system_parts(request)
    contents = _Contents(target).build(request.get("messages"))
    body["contents"] = contents
    if system:
        body["systemInstruction"] = {"parts": system}

    declarations = tool_declarations(request.get("tools"), profile) if target.capabilities.tools else []
    if declarations:
        body["tools"] = [{"functionDeclarations": declarations}]
        config = tool_config(request.get("tool_choice"), {d["name"] for d in declarations})
        if config is not None:
            body["toolConfig"] = config

    generation: dict[str, Any] = {}
    max_tokens = request.get("max_tokens")
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool):
        generation["maxOutputTokens"] = min(max_tokens, target.max_tokens) if target.max_tokens else max_tokens
    for field, name in (("temperature", "temperature"), ("top_p", "topP")):
        if _number(request.get(field)):
            generation[name] = request[field]
    if _integer(request.get("top_k")):
        generation["topK"] = request["top_k"]
    stops = request.get("stop_sequences")
    if isinstance(stops, list):
        stops = [s for s in stops if isinstance(s, str) and s]
        if profile.max_stop_sequences is not None:
            stops = stops[: profile.max_stop_sequences]
        if stops:
            generation["stopSequences"] = stops
    output_format = _dict(_dict(request.get("output_config")).get("format"))
    if output_format.get("type") == "json_schema" and isinstance(output_format.get("schema"), dict):
        generation["responseMimeType"] = "application/json"
        generation["responseJsonSchema"] = output_format["schema"]
    if target.capabilities.thinking:
        thinking = thinking_config(request, profile.thinking_config, profile.reasoning_efforts)
        if thinking:
            generation["thinkingConfig"] = thinking
    if generation:
        body["generationConfig"] = generation

    for field in PASSTHROUGH_FIELDS:
        if field in request:
            body[field] = request[field]
    if target.extra_body:
        deep_merge(body, target.extra_body)
    return body


def thinking_config(request: Mapping[str, Any], kind: str, levels: tuple[str, ...]) -> dict[str, Any]:
    """Anthropic `thinking` (+ `output_config.effort`) -> `thinkingConfig`. "budget" (Gemini 2.5): the
    budget itself, -1 (dynamic) for adaptive, 0 for disabled; "level" (Gemini 3): the effort clipped to
    the accepted levels, the lowest for disabled. Thoughts are asked for whenever thinking is on."""
    thinking = _dict(request.get("thinking"))
    mode = thinking.get("type")
    budget = thinking.get("budget_tokens")
    effort = _dict(request.get("output_config")).get("effort")
    if mode == "disabled":
        if kind == "level":
            return {"thinkingLevel": levels[0].upper()} if levels else {}
        return {"thinkingBudget": 0}
    if mode not in _THINKING_ON:
        return {}
    out: dict[str, Any] = {"includeThoughts": True}
    if kind == "level":
        if not isinstance(effort, str):
            effort = budget_to_effort(budget) if isinstance(budget, int) and not isinstance(budget, bool) else None
        level = clip_effort(effort, levels) if effort is not None else None
        if level:
            out["thinkingLevel"] = level.upper()
    elif mode == "enabled" and _integer(budget):
        out["thinkingBudget"] = budget
    else:
        out["thinkingBudget"] = -1
    return out


# --- contents -------------------------------------------------------------------------------------


class _Contents:
    """One pass over the conversation; `pending` holds the calls of the last model turn still unanswered."""

    def __init__(self, target: ResolvedModel) -> None:
        self.images = target.capabilities.images
        self.out: list[dict[str, Any]] = []
        self.pending: dict[str, tuple[str, str | None]] = {}  # tool_use id -> (name, Gemini call id)

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
                self._model(blocks)
        self._close_calls()
        return self.out

    def _add(self, role: str, parts: list[dict[str, Any]]) -> None:
        if not parts:
            return
        if self.out and self.out[-1]["role"] == role:
            self.out[-1]["parts"].extend(parts)
        else:
            self.out.append({"role": role, "parts": parts})

    def _close_calls(self) -> None:
        """Answer calls the conversation left unanswered: Gemini 400s when a turn's calls and the next
        turn's responses differ in number."""
        parts = [_response(name, call_id, NO_RESULT, False) for name, call_id in self.pending.values()]
        self.pending = {}
        self._add("user", parts)

    def _user(self, blocks: list[Any]) -> None:
        responses: list[dict[str, Any]] = []
        parts: list[dict[str, Any]] = []
        for block in blocks:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_result":
                use_id = block.get("tool_use_id")
                text, media = self._tool_result(block)
                call = self.pending.pop(use_id, None) if isinstance(use_id, str) else None
                if call is not None:
                    responses.append(_response(call[0], call[1], text, block.get("is_error") is True))
                    responses.extend(media)
                else:  # no matching call (e.g. history compacted away): keep it as user text
                    parts.append({"text": f"[tool result {use_id}]\n{text}"})
                    parts.extend(media)
            else:
                part = self._part(block)
                if part is not None:
                    parts.append(part)
        missing = [_response(name, call_id, NO_RESULT, False) for name, call_id in self.pending.values()]
        self.pending = {}
        self._add("user", responses + missing + parts)

    def _tool_result(self, block: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        content = block.get("content")
        texts: list[str] = []
        media: list[dict[str, Any]] = []
        if isinstance(content, str):
            texts.append(content)
        for inner in content if isinstance(content, list) else ():
            if not isinstance(inner, dict):
                continue
            if inner.get("type") == "tool_reference":
                texts.append(f"Tool loaded: {inner.get('tool_name', '')}")
                continue
            part = self._part(inner)
            if part is None:
                continue
            if "text" in part:
                texts.append(part["text"])
            else:
                media.append(part)
        return "\n".join(texts), media

    def _part(self, block: dict[str, Any]) -> dict[str, Any] | None:
        """A user content block as a Gemini part (None: nothing to send)."""
        kind = block.get("type")
        if kind == "text":
            text = block.get("text")
            return {"text": text} if isinstance(text, str) and text.strip() else None
        if kind == "image":
            if not self.images:
                return {"text": "[image omitted: this model does not accept images]"}
            return _media(_dict(block.get("source")), "image/png")
        if kind == "document":
            source = _dict(block.get("source"))
            if source.get("type") == "text" and isinstance(source.get("data"), str):
                return {"text": source["data"]}
            if source.get("type") == "content" and isinstance(source.get("content"), list):
                texts = [
                    c.get("text", "") for c in source["content"] if isinstance(c, dict) and c.get("type") == "text"
                ]
                return {"text": "\n".join(texts)} if texts else None
            return _media(source, "application/pdf")
        if kind == "search_result":
            text = search_result_text(block)
            return {"text": text} if text else None
        return None  # thinking, server-tool history and unknown blocks carry nothing for the model

    def _model(self, blocks: list[Any]) -> None:
        parts: list[dict[str, Any]] = []
        for block in blocks:
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text":
                text = block.get("text")
                if isinstance(text, str) and text.strip():
                    parts.append({"text": text})
            elif kind == "tool_use":
                use_id, name = block.get("id"), block.get("name")
                if not isinstance(use_id, str) or not isinstance(name, str):
                    continue
                call_id, signature = decode_tool_id(use_id)
                call: dict[str, Any] = {"name": name, "args": _dict(block.get("input"))}
                if call_id:
                    call = {"id": call_id, **call}
                part: dict[str, Any] = {"functionCall": call}
                if signature:
                    part["thoughtSignature"] = signature
                parts.append(part)
                self.pending[use_id] = (name, call_id)
            elif kind == "thinking":
                _restore_thinking(block, parts)
        self._add("model", parts)


def _restore_thinking(block: dict[str, Any], parts: list[dict[str, Any]]) -> None:
    """Our thinking block -> the thought part it was (signature included), or, for a block that only
    carries a text part's signature, that signature back on the text part before it."""
    restored = read_thinking_block(block)
    if restored is None:
        return  # Anthropic-signed or foreign: meaningless to Gemini
    signature = restored.payload.get("t")
    signature = signature if isinstance(signature, str) and signature else None
    if restored.payload.get("k") == "text":
        if signature is None:
            return
        last = parts[-1] if parts else None
        if last is not None and "text" in last and not last.get("thought") and "thoughtSignature" not in last:
            last["thoughtSignature"] = signature
        else:
            parts.append({"text": "", "thoughtSignature": signature})
        return
    if not restored.text and signature is None:
        return
    part: dict[str, Any] = {"text": restored.text, "thought": True}
    if signature is not None:
        part["thoughtSignature"] = signature
    parts.append(part)


def _response(name: str, call_id: str | None, text: str, is_error: bool) -> dict[str, Any]:
    response: dict[str, Any] = {"name": name, "response": {"error" if is_error else "output": text}}
    if call_id:
        response = {"id": call_id, **response}
    return {"functionResponse": response}


def _media(source: Mapping[str, Any], default_type: str) -> dict[str, Any] | None:
    """base64 -> `inlineData`; a URL -> `fileData` (Gemini fetches it; the engine does no I/O)."""
    if source.get("type") == "base64" and isinstance(source.get("data"), str):
        media_type = source.get("media_type")
        return {
            "inlineData": {
                "mimeType": media_type if isinstance(media_type, str) else default_type,
                "data": source["data"],
            }
        }
    if source.get("type") == "url" and isinstance(source.get("url"), str):
        return {"fileData": {"mimeType": _mime_of(source["url"], default_type), "fileUri": source["url"]}}
    return None


_EXTENSIONS = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
}


def _mime_of(url: str, default: str) -> str:
    path = url.split("?", 1)[0].split("#", 1)[0].lower()
    for extension, mime in _EXTENSIONS.items():
        if path.endswith(extension):
            return mime
    return default


def _system_parts(request: Mapping[str, Any]) -> list[dict[str, str]]:
    """The system prompt's texts, then those of `role: "system"` messages (Gemini has no system turns)."""
    texts = _texts(request.get("system"))
    messages = request.get("messages")
    for message in messages if isinstance(messages, list) else ():
        if isinstance(message, dict) and message.get("role") == "system":
            texts.extend(_texts(message.get("content")))
    return [{"text": t} for t in texts]


def _texts(system: Any) -> list[str]:
    if isinstance(system, str):
        return [system] if system.strip() else []
    out: list[str] = []
    for block in system if isinstance(system, list) else ():
        if isinstance(block, dict) and block.get("type") == "text":
            text = block.get("text")
            if isinstance(text, str) and text.strip() and not text.startswith(BILLING_HEADER_PREFIX):
                out.append(text)
    return out


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}

