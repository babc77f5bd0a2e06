"""Anthropic SSE bytes -> the OpenAI Responses stream, one synchronous state machine.

response.created, response.in_progress; per content block: output_item.added, then for text
content_part.added / output_text.delta... / output_text.done / content_part.done, for thinking
reasoning_summary_part.added / reasoning_summary_text.delta... / .done / reasoning_summary_part.done,
for a tool call function_call_arguments.delta... / .done; then output_item.done with the whole item.
message_stop -> response.completed (or response.incomplete) carrying every item and the usage. An
Anthropic `error` event -> `error` then `response.failed`. Every event has its `sequence_number`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from cc_proxy.engine.inbound.chat_answer import openai_error
from cc_proxy.engine.inbound.common import ToolOrigin
from cc_proxy.engine.inbound.responses_answer import (
    call_item,
    error_event_payload,
    item_id,
    message_item,
    output_item,
    reasoning_item,
    response_id,
    response_object,
)
from cc_proxy.engine.wire.errors import error_body
from cc_proxy.engine.wire.sse import SSEDecoder

PING = b": ping\n\n"


class _Block:
    __slots__ = ("block", "index", "item", "output_index", "parts")

    def __init__(self, index: int, block: dict[str, Any], item: dict[str, Any], output_index: int) -> None:
        self.index = index  # the Anthropic block index
        self.block = block  # the Anthropic block, accumulated
        self.item = item
        self.output_index = output_index
        self.parts: list[str] = []


class ResponsesStreamRenderer:
    def __init__(self, created: int, tools: Mapping[str, ToolOrigin]) -> None:
        self._decoder = SSEDecoder()
        self._created = created
        self._tools = tools
        self._sequence = 0
        self._rid = "resp_"
        self._model = ""
        self._usage: dict[str, Any] = {}
        self._stop_reason: Any = None
        self._blocks: dict[int, _Block] = {}
        self._output: list[dict[str, Any]] = []
        self.done = False

    def feed(self, data: bytes) -> bytes:
        if not data or self.done:
            return b""
        out: list[bytes] = []
        for event in self._decoder.feed(data):
            self._event(event.event, event.data, out)
        return b"".join(out)

    def finish(self) -> bytes:
        return b""  # an unfinished stream gets the relay's in-band error, never a fabricated completion

    def error(self, error_type: str, message: str) -> bytes:
        out: list[bytes] = []
        self._fail(orjson.dumps(error_body(error_type, message)), out)
        return b"".join(out)

    # --- events ---------------------------------------------------------------------------------

    def _emit(self, out: list[bytes], kind: str, payload: dict[str, Any]) -> None:
        payload = {"type": kind, **payload, "sequence_number": self._sequence}
        self._sequence += 1
        out.append(b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n")

    def _event(self, name: str | None, data: str, out: list[bytes]) -> None:
        if name == "content_block_delta":
            payload = orjson.loads(data)
            self._delta(self._blocks.get(payload["index"]), payload["delta"], out)
        elif name == "content_block_start":
            payload = orjson.loads(data)
            self._start(payload["index"], dict(payload["content_block"]), out)
        elif name == "content_block_stop":
            state = self._blocks.pop(orjson.loads(data)["index"], None)
            if state is not None:
                self._stop(state, out)
        elif name == "message_start":
            message = orjson.loads(data)["message"]
            self._rid = response_id(message.get("id"))
            self._model = message.get("model", "")
            self._usage = dict(message.get("usage") or {})
            skeleton = self._response("in_progress")
            self._emit(out, "response.created", {"response": skeleton})
            self._emit(out, "response.in_progress", {"response": skeleton})
        elif name == "message_delta":
            payload = orjson.loads(data)
            self._usage.update({k: v for k, v in (payload.get("usage") or {}).items() if v is not None})
            self._stop_reason = payload.get("delta", {}).get("stop_reason")
        elif name == "message_stop":
            final = self._response(None)
            kind = "response.incomplete" if final["status"] == "incomplete" else "response.completed"
            self._emit(out, kind, {"response": final})
            self.done = True
        elif name == "error":
            self._fail(data.encode(), out)
        elif name == "ping":
            out.append(PING)

    def _response(self, status: str | None) -> dict[str, Any]:
        usage = None if status == "in_progress" else self._usage
        output = [] if status == "in_progress" else self._output
        return response_object(self._rid, self._created, self._model, output, self._stop_reason, usage, status)

    def _fail(self, anthropic_error: bytes, out: list[bytes]) -> None:
        out_bytes: list[bytes] = []
        self._emit(
            out_bytes,
            "error",
            {k: v for k, v in error_event_payload(anthropic_error, 0).items() if k not in ("type", "sequence_number")},
        )
        failed = self._response("failed")
        error = openai_error(anthropic_error)["error"]
        failed["error"] = {"code": error["code"], "message": error["message"]}
        self._emit(out_bytes, "response.failed", {"response": failed})
        out.extend(out_bytes)
        self.done = True

    def _start(self, index: int, block: dict[str, Any], out: list[bytes]) -> None:
        kind = block.get("type")
        output_index = len(self._output) + len(self._blocks)
        rid = self._rid
        if kind == "text":
            item = message_item(item_id("msg", rid, index), [], "in_progress")
        elif kind in ("thinking", "redacted_thinking"):
            item = reasoning_item(item_id("rs", rid, index), "", None)
        elif kind == "tool_use":
            item = call_item(item_id("fc", rid, index), block["id"], block["name"], "", self._tools)
            if item["type"] == "function_call":
                item["status"] = "in_progress"
            block["input"] = None
        else:
            return  # server tools: nothing this client can act on
        state = _Block(index, block, item, output_index)
        self._blocks[index] = state
        self._emit(out, "response.output_item.added", {"output_index": output_index, "item": item})
        where = {"item_id": item["id"], "output_index": output_index}
        if kind == "text":
            part = {"type": "output_text", "text": "", "annotations": []}
            self._emit(out, "response.content_part.added", {**where, "content_index": 0, "part": part})
        elif kind == "thinking":
            part = {"type": "summary_text", "text": ""}
            self._emit(out, "response.reasoning_summary_part.added", {**where, "summary_index": 0, "part": part})

    def _delta(self, state: _Block | None, delta: dict[str, Any], out: list[bytes]) -> None:
        if state is None:
            return
        kind = delta.get("type")
        where = {"item_id": state.item["id"], "output_index": state.output_index}
        if kind == "text_delta":
            state.parts.append(delta["text"])
            self._emit(
                out, "response.output_text.delta", {**where, "content_index": 0, "delta": delta["text"], "logprobs": []}
            )
        elif kind == "thinking_delta":
            state.parts.append(delta["thinking"])
            self._emit(
                out, "response.reasoning_summary_text.delta", {**where, "summary_index": 0, "delta": delta["thinking"]}
            )
        elif kind == "signature_delta":
            state.block["signature"] = delta["signature"]
        elif kind == "input_json_delta" and delta["partial_json"]:
            state.parts.append(delta["partial_json"])
            if state.item["type"] == "function_call":  # a custom tool's text is whole only at its end
                self._emit(out, "response.function_call_arguments.delta", {**where, "delta": delta["partial_json"]})

    def _stop(self, state: _Block, out: list[bytes]) -> None:
        block = state.block
        kind = block.get("type")
        where = {"item_id": state.item["id"], "output_index": state.output_index}
        text = "".join(state.parts)
        if kind == "text":
            block["text"] = text
            part = {"type": "output_text", "text": text, "annotations": []}
            self._emit(out, "response.output_text.done", {**where, "content_index": 0, "text": text, "logprobs": []})
            self._emit(out, "response.content_part.done", {**where, "content_index": 0, "part": part})
        elif kind == "thinking":
            block["thinking"] = text
            part = {"type": "summary_text", "text": text}
            self._emit(out, "response.reasoning_summary_text.done", {**where, "summary_index": 0, "text": text})
            self._emit(out, "response.reasoning_summary_part.done", {**where, "summary_index": 0, "part": part})
        elif kind == "tool_use":
            arguments = text or "{}"
            try:
                block["input"] = orjson.loads(arguments)
            except orjson.JSONDecodeError:
                block["input"] = {}
            if state.item["type"] == "function_call":
                self._emit(out, "response.function_call_arguments.done", {**where, "arguments": arguments})
        item = output_item(block, self._rid, state.index, self._tools)
        if item is None:
            return
        if item["type"] == "function_call":
            item["arguments"] = text or "{}"  # the deltas' own text, not a re-serialisation
        elif item["type"] == "custom_tool_call":
            self._emit(out, "response.custom_tool_call_input.done", {**where, "input": item["input"]})
        self._output.append(item)
        self._emit(out, "response.output_item.done", {"output_index": state.output_index, "item": item})
