"""OpenAI Responses stream -> Anthropic stream: a synchronous state machine.

The Responses API streams typed events (`type` in the JSON; the SSE `event:` line repeats it) about
output items addressed by `output_index`, one item after another:
- `response.created` -> `message_start` (`response.in_progress`/`queued` carry nothing new);
- a `reasoning` item -> a `thinking` block: `response.reasoning_summary_text.delta` -> `thinking_delta`
  (summary parts separated by a blank line, as in the non-stream answer); at its
  `response.output_item.done` the encrypted content is known: one `signature_delta`, then the stop. An
  item with no summary streams as a block opened and signed at its done event;
- a `message` item -> a `text` block: `response.output_text.delta` (and `response.refusal.delta`) ->
  `text_delta`, stopped at the item's done event;
- a `function_call` item -> a `tool_use` block opened at `response.output_item.added` (call_id and
  name are known there): `response.function_call_arguments.delta` -> `input_json_delta` verbatim;
- `response.completed` / `response.incomplete` -> ONE `message_delta` (stop reason as in
  `engine.wire.responses_response`, usage), then `message_stop`;
- `response.failed`, an `error` event or undecodable JSON
  -> an in-band `error` event and nothing after it, never a fabricated `message_stop`; the end of input
  before a terminal event adds nothing (the server cuts the client connection, reliability U12).

Whatever a done event holds that no delta delivered (a server that sends no deltas) is emitted whole
then, so the stream and the non-stream answer agree. Events of other item types and unknown events
change nothing. Nothing here raises on upstream input.
"""

from __future__ import annotations

from typing import Any

import orjson
from cc_proxy.engine.wire.openai_response import error_fields, tool_id
from cc_proxy.engine.wire.reasoning import make_signature
from cc_proxy.engine.wire.responses_response import (
    SUMMARY_SEPARATOR,
    final_usage,
    message_text,
    signed_item,
    stop_reason_of,
    summary_text,
    usage_of,
)
from cc_proxy.engine.wire.types import SSEEvent, TranslationContext

_TEXT_DELTA = "response.output_text.delta"


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


class StreamTranslator:
    """One upstream stream; not reusable. `completed` is True once `message_stop` was emitted."""

    def __init__(self, ctx: TranslationContext) -> None:
        self._ctx = ctx
        self._started = False
        self._done = False
        self._completed = False
        self._kind: str | None = None  # open block: "thinking" | "text" | "tool" | None
        self._item: Any = None  # output_index of the item the open block belongs to
        self._index = -1  # index of the open (or last) block
        self._summary: Any = None  # summary_index of the last thinking delta of the open block
        self._opened: set[Any] = set()  # output indexes that had a block
        self._streamed: set[Any] = set()  # output indexes whose tool arguments were sent
        self._has_tools = False

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
        if not data.strip() or data.strip() == "[DONE]":  # keep-alives; [DONE] from Chat-style servers
            return []
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            return self._fail("api_error", "upstream stream sent data that is not JSON")
        if not isinstance(payload, dict):
            return self._fail("api_error", "upstream stream sent an event that is not a JSON object")
        kind = payload.get("type")
        out: list[SSEEvent] = []
        if kind == _TEXT_DELTA and self._kind == "text" and self._item == payload.get("output_index"):
            # Most events of a stream: text into the open text block (the general path gives the same).
            delta = payload.get("delta")
            if isinstance(delta, str) and delta:
                out.append(self._delta({"type": "text_delta", "text": delta}))
            return out
        if kind == "error":
            return self._fail(*error_fields(payload))
        if kind == "response.failed":
            response = _dict(payload.get("response"))
            error = response.get("error")
            return self._fail(*error_fields(error if error is not None else {"message": "the response failed"}))
        if not self._started:
            self._start(out)
        if kind == "response.output_item.added":
            self._item_added(payload, out)
        elif kind in (_TEXT_DELTA, "response.refusal.delta"):
            self._text(payload.get("output_index"), payload.get("delta"), out)
        elif kind == "response.reasoning_summary_text.delta":
            self._thinking(payload, out)
        elif kind == "response.function_call_arguments.delta":
            self._arguments(payload.get("output_index"), payload.get("delta"), out)
        elif kind == "response.function_call_arguments.done":
            if payload.get("output_index") not in self._streamed:
                self._arguments(payload.get("output_index"), payload.get("arguments"), out)
        elif kind == "response.output_item.done":
            self._item_done(payload, out)
        elif kind in ("response.completed", "response.incomplete"):
            self._end(_dict(payload.get("response")), out)
        return out

    def finish(self) -> list[SSEEvent]:
        """End of input. Without `response.completed` the upstream was cut short: nothing is invented,
        the stream stays neither done nor completed, and the server cuts the client's connection the
        same way (reliability U12)."""
        return []

    # --- items ------------------------------------------------------------------------------------

    def _item_added(self, payload: dict[str, Any], out: list[SSEEvent]) -> None:
        item = _dict(payload.get("item"))
        if item.get("type") != "function_call":
            return  # reasoning and message blocks open with their first content
        at = payload.get("output_index")
        self._open_tool(at, item, out)
        arguments = item.get("arguments")
        if isinstance(arguments, str) and arguments:
            self._arguments(at, arguments, out)

    def _item_done(self, payload: dict[str, Any], out: list[SSEEvent]) -> None:
        item = _dict(payload.get("item"))
        at = payload.get("output_index")
        kind = item.get("type")
        opened = at in self._opened
        if kind == "reasoning":
            signed = signed_item(item)
            if not opened:
                text = summary_text(item)
                if not (text or signed):
                    return
                self._open("thinking", at, {"type": "thinking", "thinking": "", "signature": ""}, out)
                if text:
                    out.append(self._delta({"type": "thinking_delta", "thinking": text}))
            if self._kind == "thinking" and self._item == at:
                out.append(self._delta({"type": "signature_delta", "signature": make_signature(None, signed)}))
                self._stop(out)
        elif kind == "message":
            if not opened:
                self._text(at, message_text(item), out)
            if self._item == at:
                self._close(out)
        elif kind == "function_call":
            if not opened:
                self._open_tool(at, item, out)
            if at not in self._streamed:
                self._arguments(at, item.get("arguments"), out)
            if self._item == at:
                self._close(out)

    # --- blocks -----------------------------------------------------------------------------------

    def _open(self, kind: str, at: Any, block: dict[str, Any], out: list[SSEEvent]) -> None:
        self._close(out)
        self._index += 1
        self._kind, self._item, self._summary = kind, at, None
        self._opened.add(at)
        out.append(
            SSEEvent(
                _dumps({"type": "content_block_start", "index": self._index, "content_block": block}),
                "content_block_start",
            )
        )

    def _close(self, out: list[SSEEvent]) -> None:
        """Stop the open block; a thinking block closed by anything but its done event is unsigned
        reasoning (no encrypted content arrived): it gets the text-only signature."""
        if self._kind == "thinking":
            out.append(self._delta({"type": "signature_delta", "signature": make_signature(None)}))
        if self._kind is not None:
            self._stop(out)

    def _stop(self, out: list[SSEEvent]) -> None:
        out.append(SSEEvent(f'{{"type":"content_block_stop","index":{self._index}}}', "content_block_stop"))
        self._kind = None

    def _delta(self, delta: dict[str, Any]) -> SSEEvent:
        return SSEEvent(
            f'{{"type":"content_block_delta","index":{self._index},"delta":{_dumps(delta)}}}', "content_block_delta"
        )

    def _text(self, at: Any, text: Any, out: list[SSEEvent]) -> None:
        if not isinstance(text, str) or not text:
            return
        if self._kind != "text" or self._item != at:
            self._open("text", at, {"type": "text", "text": ""}, out)
        out.append(self._delta({"type": "text_delta", "text": text}))

    def _thinking(self, payload: dict[str, Any], out: list[SSEEvent]) -> None:
        text = payload.get("delta")
        if not isinstance(text, str) or not text:
            return
        at = payload.get("output_index")
        part = payload.get("summary_index")
        if self._kind != "thinking" or self._item != at:
            self._open("thinking", at, {"type": "thinking", "thinking": "", "signature": ""}, out)
        elif part != self._summary:
            text = SUMMARY_SEPARATOR + text  # a new summary part of the same reasoning item
        self._summary = part
        out.append(self._delta({"type": "thinking_delta", "thinking": text}))

    def _open_tool(self, at: Any, item: dict[str, Any], out: list[SSEEvent]) -> None:
        name = item.get("name")
        block = {
            "type": "tool_use",
            "id": tool_id(item.get("call_id"), self._ctx),
            "name": name if isinstance(name, str) else "",
            "input": {},
        }
        self._open("tool", at, block, out)
        self._has_tools = True

    def _arguments(self, at: Any, fragment: Any, out: list[SSEEvent]) -> None:
        """Fragments go to the open tool block of their item; one for an item whose block is not open
        (OpenAI never interleaves items) has nowhere valid to go and is dropped."""
        if self._kind != "tool" or self._item != at or not isinstance(fragment, str) or not fragment:
            return
        self._streamed.add(at)
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

    def _end(self, response: dict[str, Any], out: list[SSEEvent]) -> None:
        self._close(out)
        usage = response.get("usage")
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason_of(response, self._has_tools), "stop_sequence": None},
            "usage": final_usage(usage, self._ctx),
        }
        out.append(SSEEvent(_dumps(delta), "message_delta"))
        out.append(SSEEvent('{"type":"message_stop"}', "message_stop"))
        self._done = self._completed = True

    def _fail(self, kind: str, message: str) -> list[SSEEvent]:
        self._done = True
        body = {"type": "error", "error": {"type": kind, "message": message}}
        return [SSEEvent(_dumps(body), "error")]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
