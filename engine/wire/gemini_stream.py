"""Gemini `streamGenerateContent?alt=sse` -> Anthropic stream: a synchronous state machine.

Each upstream event is a whole `GenerateContentResponse` holding only the new parts (protocols.md 3.4,
4.8). `feed(event)` returns the Anthropic events it completes. Guarantees: `message_start` first;
blocks `thinking` / `text` / `tool_use` with indexes 0, 1, 2... each started and stopped exactly once,
never two open at once. Parts, in order: `thought` parts -> a thinking block (its signature, given
just before it stops, carries their `thoughtSignature`); text parts -> a text block; a `functionCall`
(always whole) -> a tool_use block with ONE `input_json_delta`, its signature and id in the tool_use id
(engine.wire.gemini_signatures). A signed part ends its block (the next thought or text part opens a
new one), so each signature comes back on its part. A `thoughtSignature` on a text part comes back in a
thinking block with no text placed after the text, but only when another block follows: at the end of
the message it is dropped: Gemini validates only function-call signatures, and a trailing thinking block
leaves `claude -p` with an empty result (Claude Code 2.1.332).

The event carrying `finishReason` ends the message: one `message_delta` (stop reason, the last
`usageMetadata`) and `message_stop`. Gemini sends no `[DONE]`: a stream that ends before a finish
reason was cut short, and `finish()` adds nothing (the server mirrors the cut to the client, never a
fabricated `message_stop`). A Gemini error object, a blocked prompt, undecodable JSON and the finish
reasons that mean the answer failed (MALFORMED_FUNCTION_CALL...) end it with an in-band `error`.
Nothing here raises on upstream input.

The non-stream answer is translated by this same machine (engine.wire.gemini_response), so both
give the same message by construction.
"""

from __future__ import annotations

from typing import Any

import orjson
from cc_proxy.engine.wire.errors import anthropic_error_from_json
from cc_proxy.engine.wire.gemini_signatures import encode_tool_id
from cc_proxy.engine.wire.reasoning import make_signature
from cc_proxy.engine.wire.types import SSEEvent, TranslationContext

# finishReason -> Anthropic stop_reason (STOP is end_turn, or tool_use when calls were made).
STOP_REASONS: dict[str, str] = {
    "MAX_TOKENS": "max_tokens",
    "CONTINUATION": "max_tokens",
    **dict.fromkeys(
        (
            "SAFETY",
            "RECITATION",
            "LANGUAGE",
            "BLOCKLIST",
            "PROHIBITED_CONTENT",
            "SPII",
            "IMAGE_SAFETY",
            "IMAGE_PROHIBITED_CONTENT",
            "IMAGE_RECITATION",
            "IMAGE_OTHER",
            "ESCALATION",
            "MODEL_ARMOR",
            "PUP_LIMITED_DISABLED",
        ),
        "refusal",
    ),
}
# finishReasons that mean no usable answer: a clear error instead of a turn Claude Code would take
# as done. MISSING_THOUGHT_SIGNATURE is the request's fault; the others may succeed when retried.
FAILED_FINISHES: dict[str, str] = {
    "MISSING_THOUGHT_SIGNATURE": "invalid_request_error",
    "MALFORMED_FUNCTION_CALL": "api_error",
    "UNEXPECTED_TOOL_CALL": "api_error",
    "TOO_MANY_TOOL_CALLS": "api_error",
    "MALFORMED_RESPONSE": "api_error",
    "NO_IMAGE": "api_error",
    "OTHER": "api_error",
    "FINISH_REASON_UNSPECIFIED": "api_error",
}
_HOLDER = '{"type":"thinking","thinking":"","signature":""}'


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def final_usage(usage: Any, ctx: TranslationContext) -> dict[str, int]:
    """The answer's Anthropic usage, noting on `ctx.usage_note` what that cannot carry: the
    reasoning tokens (`thoughtsTokenCount`), or that the upstream
    sent no usage (input is then the estimate)."""
    if isinstance(usage, dict):
        ctx.usage_note.note(usage.get("thoughtsTokenCount"), False)
        return usage_of(usage, 0)
    ctx.usage_note.note(0, True)
    return usage_of(None, ctx.input_tokens())


def usage_of(meta: Any, estimate: int) -> dict[str, int]:
    """Anthropic usage from `usageMetadata`: input excludes cached tokens (promptTokenCount includes
    them) and counts tool-use prompt tokens; output counts thoughts (candidatesTokenCount does not)."""
    if not isinstance(meta, dict):
        return {
            "input_tokens": estimate,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 0,
        }
    cached = _int(meta.get("cachedContentTokenCount"))
    prompt = _int(meta.get("promptTokenCount")) + _int(meta.get("toolUsePromptTokenCount"))
    return {
        "input_tokens": max(0, prompt - cached),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
        "output_tokens": _int(meta.get("candidatesTokenCount")) + _int(meta.get("thoughtsTokenCount")),
    }


def error_of(error: Any) -> tuple[str, str]:
    """(Anthropic error type, message) of a Gemini error object `{"code", "message", "status"}`."""
    code = error.get("code") if isinstance(error, dict) else None
    found = anthropic_error_from_json(code if isinstance(code, int) and code >= 400 else 0, {"error": error})
    if found is None:
        return "api_error", "upstream sent an unreadable error"
    body = found[1]["error"]
    return str(body["type"]), str(body["message"])


class StreamTranslator:
    """One upstream stream; not reusable. `completed` is True once `message_stop` was emitted."""

    def __init__(self, ctx: TranslationContext) -> None:
        self._ctx = ctx
        self._started = False
        self._done = False
        self._completed = False
        self._kind: str | None = None  # open block: "thinking" | "text" | None
        self._index = -1
        self._thought_signature: str | None = None  # of the open thinking block
        # Signatures of text parts, each to come back in a holder block once another block follows.
        self._text_signatures: list[str] = []
        self._has_tools = False
        self._usage: Any = None

    @property
    def completed(self) -> bool:
        return self._completed

    @property
    def done(self) -> bool:
        """No more events will be produced (completed, or ended by an error)."""
        return self._done

    # --- input ------------------------------------------------------------------------------------

    def feed(self, event: SSEEvent) -> list[SSEEvent]:
        if self._done:
            return []
        data = event.data
        if not data or data.isspace():
            return []
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            return self._fail("api_error", "upstream stream sent data that is not JSON")
        if isinstance(chunk, list) and len(chunk) == 1:  # an error in the JSON-array stream form
            chunk = chunk[0]
        if not isinstance(chunk, dict):
            return self._fail("api_error", "upstream stream sent a chunk that is not a JSON object")
        return self.feed_response(chunk)

    def feed_response(self, chunk: dict[str, Any]) -> list[SSEEvent]:
        """One decoded `GenerateContentResponse` (a stream event, or a whole non-stream answer)."""
        if self._done:
            return []
        if chunk.get("error") is not None:
            return self._fail(*error_of(chunk["error"]))
        out: list[SSEEvent] = []  # message_start waits for content: an error first becomes an HTTP error
        usage = chunk.get("usageMetadata")
        if isinstance(usage, dict):
            self._usage = usage
        candidates = chunk.get("candidates")
        candidate = candidates[0] if isinstance(candidates, list) and candidates else None
        if not isinstance(candidate, dict):
            blocked = _dict(chunk.get("promptFeedback")).get("blockReason")
            if blocked:
                return out + self._fail("invalid_request_error", f"Gemini blocked the prompt ({blocked})")
            return out
        parts = _dict(candidate.get("content")).get("parts")
        for part in parts if isinstance(parts, list) else ():
            if isinstance(part, dict):
                self._part(part, out)
        finish = candidate.get("finishReason")
        if isinstance(finish, str) and finish:
            message = candidate.get("finishMessage")
            self._end(finish, message if isinstance(message, str) else None, out)
        return out

    def finish(self) -> list[SSEEvent]:
        """End of input. Without a finishReason the upstream was cut short: nothing is invented, the
        stream stays neither done nor completed, and the server cuts the client's connection the same
        way (reliability U12)."""
        return []

    def finish_complete(self) -> list[SSEEvent]:
        """End of a whole (non-stream) answer: no finishReason there means it simply stopped."""
        if self._done:
            return []
        out: list[SSEEvent] = []
        self._end("STOP", None, out)
        return out

    # --- parts ------------------------------------------------------------------------------------

    def _part(self, part: dict[str, Any], out: list[SSEEvent]) -> None:
        signature = part.get("thoughtSignature")
        if not isinstance(signature, str) or not signature:
            signature = None
        call = part.get("functionCall")
        text = part.get("text")
        if isinstance(call, dict):
            self._tool(call, signature, out)
        elif part.get("thought") is True:
            if self._kind != "thinking" or self._thought_signature is not None:  # a signature ends a block
                self._open("thinking", '{"type":"thinking","thinking":"","signature":""}', out)
            if isinstance(text, str) and text:
                out.append(self._delta('{"type":"thinking_delta","thinking":' + _dumps(text) + "}"))
            if signature is not None:
                self._thought_signature = signature
        elif isinstance(text, str) and text:
            if self._kind != "text" or self._text_signatures:
                self._open("text", '{"type":"text","text":""}', out)
            out.append(self._delta('{"type":"text_delta","text":' + _dumps(text) + "}"))
            if signature is not None:
                self._text_signatures.append(signature)
        elif signature is not None:  # an empty text part (or one we do not translate) with a signature
            self._text_signatures.append(signature)

    def _tool(self, call: dict[str, Any], signature: str | None, out: list[SSEEvent]) -> None:
        call_id = call.get("id")
        name = call.get("name")
        args = call.get("args")
        tool_id = encode_tool_id(call_id if isinstance(call_id, str) else None, signature, self._ctx.new_id)
        block = {"type": "tool_use", "id": tool_id, "name": name if isinstance(name, str) else "", "input": {}}
        self._open("tool", _dumps(block), out)
        arguments = _dumps(args) if isinstance(args, dict) else "{}"
        out.append(self._delta('{"type":"input_json_delta","partial_json":' + _dumps(arguments) + "}"))
        self._close(out)
        self._has_tools = True

    # --- blocks -----------------------------------------------------------------------------------

    def _open(self, kind: str, block: str, out: list[SSEEvent]) -> None:
        if not self._started:
            self._start(out)
        self._close(out)
        for signature in self._text_signatures:
            self._holder(signature, out)
        self._text_signatures = []
        self._index += 1
        self._kind = kind
        out.append(
            SSEEvent(
                f'{{"type":"content_block_start","index":{self._index},"content_block":{block}}}',
                "content_block_start",
            )
        )

    def _close(self, out: list[SSEEvent]) -> None:
        kind = self._kind
        if kind is None:
            return
        if kind == "thinking":
            signature = self._thought_signature
            self._thought_signature = None
            self._signature(make_signature(None, extra={"t": signature} if signature else None), out)
        out.append(self._stop())
        self._kind = None

    def _holder(self, signature: str, out: list[SSEEvent]) -> None:
        """A thinking block with no text whose only job is to bring a text part's signature back."""
        self._index += 1
        out.append(
            SSEEvent(
                f'{{"type":"content_block_start","index":{self._index},"content_block":{_HOLDER}}}',
                "content_block_start",
            )
        )
        self._signature(make_signature(None, extra={"k": "text", "t": signature}), out)
        out.append(self._stop())

    def _signature(self, signature: str, out: list[SSEEvent]) -> None:
        out.append(self._delta('{"type":"signature_delta","signature":' + _dumps(signature) + "}"))

    def _delta(self, delta: str) -> SSEEvent:
        return SSEEvent(
            f'{{"type":"content_block_delta","index":{self._index},"delta":{delta}}}', "content_block_delta"
        )

    def _stop(self) -> SSEEvent:
        return SSEEvent(f'{{"type":"content_block_stop","index":{self._index}}}', "content_block_stop")

    # --- ends -------------------------------------------------------------------------------------

    def _start(self, out: list[SSEEvent]) -> None:
        self._started = True
        ctx = self._ctx
        message: dict[str, Any] = {
            "id": ctx.new_id("msg_"),
            "type": "message",
            "role": "assistant",
            "model": ctx.response_model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage_of(None, ctx.start_input_tokens()),
        }
        out.append(SSEEvent(_dumps({"type": "message_start", "message": message}), "message_start"))

    def _end(self, finish: str, finish_message: str | None, out: list[SSEEvent]) -> None:
        if finish == "STOP":
            stop_reason = "tool_use" if self._has_tools else "end_turn"
        elif finish in STOP_REASONS:
            stop_reason = STOP_REASONS[finish]
        else:
            why = f"Gemini stopped with finishReason {finish}" + (f": {finish_message}" if finish_message else "")
            out.extend(self._fail(FAILED_FINISHES.get(finish, "api_error"), why))
            return
        if not self._started:
            self._start(out)
        self._close(out)
        usage = final_usage(self._usage, self._ctx)
        delta = {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None}, "usage": usage}
        out.append(SSEEvent(_dumps(delta), "message_delta"))
        out.append(SSEEvent('{"type":"message_stop"}', "message_stop"))
        self._done = self._completed = True

    def _fail(self, kind: str, message: str) -> list[SSEEvent]:
        self._done = True
        body = {"type": "error", "error": {"type": kind, "message": message}}
        return [SSEEvent(_dumps(body), "error")]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
