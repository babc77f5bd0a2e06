"""What the proxy emulates in a translated answer, as the Anthropic API would answer (engine.emulate):

- the applied `context_management` edits go on the message (JSON answers) or on the stream's
  `message_delta` (Anthropic-compatible upstreams too: server/wire_registry.py `_ReportedStream`);
- `thinking.display: "omitted"` (what Claude Code asks for): thinking blocks come back empty but signed,
  the stream sends no `thinking_delta`, only the `signature_delta`. The reasoning text moves into our
  signature (engine.wire.reasoning), so the next request can still hand it back to upstreams that want
  it (DeepSeek's tool turns).

One `AnswerReport` per answer, for every translated wire alike (server/wire_registry.py); `active` is
False for most answers, which then pass untouched. Stream events are decoded only when they can
matter: a `message_delta`, or a delta whose bytes name `thinking_delta` / `signature_delta`.
"""

from __future__ import annotations

from typing import Any

import orjson
from cc_proxy.engine.wire.reasoning import sign_text
from cc_proxy.engine.wire.types import SSEEvent, TranslationContext


class AnswerReport:
    __slots__ = ("_context_management", "_omit", "_texts")

    def __init__(self, ctx: TranslationContext) -> None:
        self._context_management = ctx.context_management
        self._omit = ctx.omit_thinking
        self._texts: dict[int, list[str]] = {}  # block index -> the thinking text held back

    @property
    def active(self) -> bool:
        return self._omit or self._context_management is not None

    def message(self, message: dict[str, Any]) -> dict[str, Any]:
        if message.get("type") != "message":
            return message
        if self._context_management is not None:
            message["context_management"] = dict(self._context_management)
        if self._omit and isinstance(message.get("content"), list):
            message["content"] = [_omitted(block) for block in message["content"]]
        return message

    def events(self, events: list[SSEEvent]) -> list[SSEEvent]:
        out: list[SSEEvent] = []
        for event in events:
            kind = event.event
            if kind == "content_block_delta" and self._omit:
                data = event.data
                if '"thinking_delta"' in data or '"signature_delta"' in data:
                    changed = self._thinking_event(orjson.loads(data))
                    if changed is None:
                        continue  # a thinking_delta: held back, it goes into the signature
                    event = SSEEvent(changed, kind)
            elif kind == "message_delta" and self._context_management is not None:
                payload = orjson.loads(event.data)
                payload["context_management"] = dict(self._context_management)
                event = SSEEvent(orjson.dumps(payload).decode(), kind)
            out.append(event)
        return out

    def _thinking_event(self, payload: dict[str, Any]) -> str | None:
        delta = payload.get("delta")
        index = payload.get("index")
        if not isinstance(delta, dict) or not isinstance(index, int):
            return orjson.dumps(payload).decode()
        if delta.get("type") == "thinking_delta":
            self._texts.setdefault(index, []).append(str(delta.get("thinking", "")))
            return None
        if delta.get("type") == "signature_delta" and isinstance(delta.get("signature"), str):
            delta["signature"] = sign_text(delta["signature"], "".join(self._texts.pop(index, [])))
        return orjson.dumps(payload).decode()


def _omitted(block: Any) -> Any:
    if not isinstance(block, dict) or block.get("type") != "thinking" or not isinstance(block.get("signature"), str):
        return block
    text = block.get("thinking")
    return {**block, "thinking": "", "signature": sign_text(block["signature"], text if isinstance(text, str) else "")}
