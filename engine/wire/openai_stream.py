"""OpenAI Chat Completions stream -> Anthropic stream: a synchronous state machine.

`feed(event)` takes one decoded upstream SSE event and returns the Anthropic events it completes;
`finish()` is called at end of input. Guarantees: `message_start` first; blocks `thinking` / `text` /
`tool_use` with indexes 0, 1, 2... each started and stopped exactly once, never two open at once; a
thinking block gets one `signature_delta` (the round-trip signature) just before it stops; the finish
reason and the usage chunk (which may follow the finish chunk) become ONE `message_delta`, emitted at
`[DONE]`, then `message_stop`. A stream that ends without `[DONE]` was cut short: `finish()` adds
nothing (neither `done` nor `completed`), and the server mirrors the cut to the client. `[DONE]` without
a finish reason, an OpenAI error object and undecodable JSON end it with an in-band `error` event
(api_error), never a fabricated `message_stop`. Nothing here raises on upstream input.

Tool calls. Argument fragments are forwarded verbatim as `input_json_delta` (never parsed per chunk).
Calls are keyed by their OpenAI `index` (fallbacks: a known `id`, else the latest call). A call's block
starts once its name is known (its id minted if the upstream sends none); fragments that arrive before
are buffered. When a new call appears while another tool block is open, the open call's arguments are
parsed once: complete JSON means the upstream moved on, so the open block stops and the new one streams
live (the usual sequential case costs one parse per call). Incomplete means true interleaving: the new
call, and every call after it, is buffered whole (id, name, fragments) and flushed, in index order,
when the stream ends. A fragment for a call whose block already stopped is dropped: after complete
JSON it can only be whitespace or garbage; after text or reasoning interrupted the call (no server
seen does this) the block cannot be reopened.
"""

from __future__ import annotations

from typing import Any

import orjson
from cc_proxy.engine.wire.openai_response import (
    content_text,
    error_fields,
    final_usage,
    matched_stop,
    reasoning_of,
    stop_reason_of,
    tool_id,
    usage_of,
)
from cc_proxy.engine.wire.reasoning import ThinkTagSplitter, make_signature, merge_detail_fragments
from cc_proxy.engine.wire.types import SSEEvent, TranslationContext

_NEW, _OPEN, _QUEUED, _CLOSED = 0, 1, 2, 3


class _Call:
    __slots__ = ("id", "key", "name", "parts", "state")

    def __init__(self, key: int) -> None:
        self.key = key
        self.id: str | None = None
        self.name: str | None = None
        self.parts: list[str] = []  # argument fragments, kept for the completeness check and buffering
        self.state = _NEW


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


class StreamTranslator:
    """One upstream stream; not reusable. `completed` is True once `message_stop` was emitted."""

    def __init__(self, ctx: TranslationContext) -> None:
        self._ctx = ctx
        profile = ctx.target.provider.profile
        self._profile = profile
        self._splitter = ThinkTagSplitter() if profile.split_think_tags else None
        self._started = False
        self._done = False
        self._completed = False
        self._kind: str | None = None  # open block: "thinking" | "text" | "tool" | None
        self._index = -1  # index of the open (or last) block
        self._details: list[dict[str, Any]] = []  # reasoning_details of the open thinking block
        self._calls: dict[int, _Call] = {}
        self._open_call: _Call | None = None
        self._queueing = False  # a call was buffered for the end: later calls queue behind it
        self._has_tools = False
        self._finish: Any = None
        self._reported_stop: Any = None
        self._usage: Any = None
        # With stop sequences, the last characters of text are held back until more text follows: a
        # sequence the upstream kept at the end is reported and cut, as Anthropic's text never has it.
        self._held = ""
        self._tail_len = max((len(s) for s in ctx.stop_sequences), default=0)

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
        if event.event == "ping" or not data.strip():
            return []
        if data == "[DONE]" or data.strip() == "[DONE]":
            return self._end()
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            return self._fail("api_error", "upstream stream sent data that is not JSON")
        if not isinstance(chunk, dict):
            return self._fail("api_error", "upstream stream sent a chunk that is not a JSON object")
        if chunk.get("error") is not None:  # some servers put `"error": null` on every chunk
            kind, message = error_fields(chunk["error"])
            return self._fail(kind, message)
        out: list[SSEEvent] = []
        if not self._started:
            self._start(out)
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self._usage = usage
        choices = chunk.get("choices")
        if isinstance(choices, list):
            for choice in choices:
                if isinstance(choice, dict) and choice.get("index", 0) == 0:
                    self._choice(choice, out)
                    break
        return out

    def finish(self) -> list[SSEEvent]:
        """End of input. Without `[DONE]` the upstream was cut short: nothing is invented, the stream
        stays neither done nor completed, and the server cuts the client's connection the same way."""
        return []

    def _choice(self, choice: dict[str, Any], out: list[SSEEvent]) -> None:
        delta = choice.get("delta")
        if type(delta) is dict and len(delta) == 1 and type(delta.get("content")) is str and self._splitter is None:
            # Most events of a stream: one token of text. The general path below gives the same
            # result; this skips its look-ups for reasoning, refusal and tool fields (~1 us an event).
            if delta["content"]:
                self._text(delta["content"], out)
        elif isinstance(delta, dict):
            # the same field rules as the non-stream answer, applied to each delta
            text, details = reasoning_of(delta, self._profile)
            if details is not None:  # a block opens even for text-less (encrypted) details
                self._thinking(text, out)
                merge_detail_fragments(self._details, details)
            elif text:
                self._thinking(text, out)
            content = content_text(delta.get("content"))
            if content:
                if self._splitter is None:
                    self._text(content, out)
                else:
                    self._split(self._splitter.feed(content), out)
            refusal = delta.get("refusal")
            if isinstance(refusal, str) and refusal:
                self._text(refusal, out)
            calls = delta.get("tool_calls")
            if isinstance(calls, list):
                for call in calls:
                    if isinstance(call, dict):
                        self._tool(call, out)
            elif isinstance(delta.get("function_call"), dict):  # pre-tools servers: one call, no id
                self._tool({"index": 0, "function": delta["function_call"]}, out)
        finish = choice.get("finish_reason")
        if finish is not None:
            self._finish = finish
        if choice.get("stop_reason") is not None:
            self._reported_stop = choice["stop_reason"]

    # --- blocks -----------------------------------------------------------------------------------

    def _open(self, kind: str, block: dict[str, Any], out: list[SSEEvent]) -> None:
        if self._held and kind != "text":
            self._release(out)
        self._close(out)
        self._index += 1
        self._kind = kind
        out.append(
            SSEEvent(
                _dumps({"type": "content_block_start", "index": self._index, "content_block": block}),
                "content_block_start",
            )
        )

    def _close(self, out: list[SSEEvent]) -> None:
        kind = self._kind
        if kind is None:
            return
        if kind == "thinking":
            signature = make_signature(self._details or None)
            self._details = []
            out.append(self._delta({"type": "signature_delta", "signature": signature}))
        elif kind == "tool" and self._open_call is not None:
            self._open_call.state = _CLOSED
            self._open_call = None
        out.append(SSEEvent(f'{{"type":"content_block_stop","index":{self._index}}}', "content_block_stop"))
        self._kind = None

    def _delta(self, delta: dict[str, Any]) -> SSEEvent:
        return SSEEvent(
            f'{{"type":"content_block_delta","index":{self._index},"delta":{_dumps(delta)}}}', "content_block_delta"
        )

    def _thinking(self, text: str, out: list[SSEEvent]) -> None:
        if self._kind != "thinking":
            self._open("thinking", {"type": "thinking", "thinking": "", "signature": ""}, out)
        if text:
            out.append(self._delta({"type": "thinking_delta", "thinking": text}))

    def _text(self, text: str, out: list[SSEEvent]) -> None:
        if self._tail_len:
            text = self._held + text
            cut = len(text) - self._tail_len
            self._held = text[max(cut, 0) :]
            if cut <= 0:
                return
            text = text[:cut]
        if self._kind != "text":
            self._open("text", {"type": "text", "text": ""}, out)
        out.append(self._delta({"type": "text_delta", "text": text}))

    def _release(self, out: list[SSEEvent]) -> None:
        """Emit the held-back end of the text (another block follows, or the message ends)."""
        held, self._held = self._held, ""
        if self._kind != "text":
            self._open("text", {"type": "text", "text": ""}, out)
        out.append(self._delta({"type": "text_delta", "text": held}))

    def _split(self, pieces: list[tuple[str, str]], out: list[SSEEvent]) -> None:
        for kind, text in pieces:
            if kind == "thinking":
                self._thinking(text, out)
            else:
                self._text(text, out)

    # --- tool calls -------------------------------------------------------------------------------

    def _tool(self, delta: dict[str, Any], out: list[SSEEvent]) -> None:
        call = self._call_for(delta)
        if call.id is None and isinstance(delta.get("id"), str) and delta["id"]:
            call.id = delta["id"]
        function = delta.get("function")
        args: Any = None
        if isinstance(function, dict):
            name = function.get("name")
            if call.name is None and isinstance(name, str) and name:
                call.name = name
            args = function.get("arguments")
            if isinstance(args, dict):  # a few servers send the object itself
                args = _dumps(args)
        fragment = args if isinstance(args, str) else ""
        if call.state == _OPEN:
            if fragment:
                call.parts.append(fragment)
                out.append(self._delta({"type": "input_json_delta", "partial_json": fragment}))
            return
        if call.state == _CLOSED:
            return  # see the module docstring: nothing valid can follow a stopped call
        if fragment:
            call.parts.append(fragment)
        if call.state == _NEW and call.name is not None:
            current = self._open_call
            if self._queueing or (current is not None and not _complete_json(current.parts)):
                # Interleaved with an unfinished call: flushed at the end, and so is every later call
                # (blocks keep the upstream's index order).
                call.state = _QUEUED
                self._queueing = True
            else:
                self._start_call(call, out)

    def _call_for(self, delta: dict[str, Any]) -> _Call:
        index = delta.get("index")
        if not isinstance(index, int) or isinstance(index, bool):
            call_id = delta.get("id")
            index = None
            if isinstance(call_id, str) and call_id:
                for known in self._calls.values():
                    if known.id == call_id:
                        index = known.key
                        break
                if index is None:
                    index = max(self._calls, default=-1) + 1
            else:
                index = max(self._calls, default=0)
        call = self._calls.get(index)
        if call is None:
            call = self._calls[index] = _Call(index)
        return call

    def _start_call(self, call: _Call, out: list[SSEEvent]) -> None:
        if self._splitter is not None:
            # Text the <think> splitter still holds (e.g. leading whitespace) precedes this call, as in
            # the non-stream answer where text comes before tool_use: release it before the block opens.
            self._split(self._splitter.finish(), out)
        call.id = tool_id(call.id, self._ctx)
        block = {"type": "tool_use", "id": call.id, "name": call.name or "", "input": {}}
        self._open("tool", block, out)
        self._open_call = call
        call.state = _OPEN
        self._has_tools = True
        for fragment in call.parts:
            out.append(self._delta({"type": "input_json_delta", "partial_json": fragment}))

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

    def _end(self) -> list[SSEEvent]:
        if self._finish is None:
            return self._fail("api_error", "upstream stream ended without a finish reason")
        out: list[SSEEvent] = []
        if self._splitter is not None:
            self._split(self._splitter.finish(), out)
        pending = [self._calls[key] for key in sorted(self._calls) if self._calls[key].state in (_NEW, _QUEUED)]
        stop_reason = stop_reason_of(self._finish, self._has_tools or bool(pending))
        stop_sequence = None
        if stop_reason == "end_turn":
            stop_sequence, in_text = matched_stop(self._reported_stop, self._held, self._ctx.stop_sequences)
            if stop_sequence is not None:
                stop_reason = "stop_sequence"
                if in_text:
                    self._held = self._held[: len(self._held) - len(stop_sequence)]
        if self._held:
            self._release(out)
        self._close(out)
        for call in pending:
            self._start_call(call, out)
            self._close(out)
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
            "usage": final_usage(self._usage, self._ctx),
        }
        out.append(SSEEvent(_dumps(delta), "message_delta"))
        out.append(SSEEvent('{"type":"message_stop"}', "message_stop"))
        self._done = self._completed = True
        return out

    def _fail(self, kind: str, message: str) -> list[SSEEvent]:
        self._done = True
        body = {"type": "error", "error": {"type": kind, "message": message}}
        return [SSEEvent(_dumps(body), "error")]


def _complete_json(parts: list[str]) -> bool:
    """True when the fragments so far form one complete JSON value (parsed once per call switch)."""
    try:
        orjson.loads("".join(parts))
    except orjson.JSONDecodeError:
        return False
    return True
