"""Anthropic SSE bytes -> OpenAI `chat.completion.chunk` SSE bytes, one synchronous state machine.

message_start -> a role chunk; text_delta -> `content`; thinking_delta -> `reasoning_content`; a
tool_use block -> `tool_calls[k]` with id/type/name first, then its `input_json_delta`s as argument
fragments (k counts tool calls from 0); message_delta -> the finish chunk; message_stop -> the usage
chunk (only with `stream_options.include_usage`) and `data: [DONE]`. An Anthropic `error` event becomes
`data: {"error": ...}`, which the OpenAI SDK raises; no `[DONE]` follows it. Pings become SSE comments.
"""

from __future__ import annotations

from typing import Any

import orjson
from cc_proxy.engine.inbound.chat_answer import chat_id, finish_reason, openai_error
from cc_proxy.engine.inbound.common import openai_usage
from cc_proxy.engine.wire.errors import error_body
from cc_proxy.engine.wire.sse import SSEDecoder

DONE = b"data: [DONE]\n\n"
PING = b": ping\n\n"


class ChatStreamRenderer:
    """`feed(anthropic_bytes) -> openai_bytes`; whole events in, whole events out."""

    def __init__(self, created: int, include_usage: bool) -> None:
        self._decoder = SSEDecoder()
        self._created = created
        self._include_usage = include_usage
        self._head = b"{"  # the chunk prefix `{"id":...,"model":...,` once message_start gave them
        self._usage: dict[str, Any] = {}
        self._tool_index: dict[int, int] = {}  # Anthropic block index -> OpenAI tool call index
        self._silent: set[int] = set()  # tool blocks with no argument fragment yet
        self.done = False  # [DONE] or an error went out: nothing more is rendered

    def feed(self, data: bytes) -> bytes:
        if not data or self.done:
            return b""
        out: list[bytes] = []
        for event in self._decoder.feed(data):
            rendered = self._event(event.event, event.data)
            if rendered:
                out.append(rendered)
        return b"".join(out)

    def finish(self) -> bytes:
        return b""  # an unfinished stream gets the relay's in-band error, never a fabricated [DONE]

    def error(self, error_type: str, message: str) -> bytes:
        self.done = True
        return _data(openai_error(orjson.dumps(error_body(error_type, message))))

    def _event(self, name: str | None, data: str) -> bytes:
        if name == "content_block_delta":
            payload = orjson.loads(data)
            delta = payload["delta"]
            kind = delta.get("type")
            if kind == "text_delta":
                return self._chunk({"content": delta["text"]})
            if kind == "thinking_delta":
                return self._chunk({"reasoning_content": delta["thinking"]})
            if kind == "input_json_delta":
                index = self._tool_index.get(payload["index"])
                if index is None or not delta["partial_json"]:
                    return b""
                self._silent.discard(payload["index"])
                return self._chunk({"tool_calls": [{"index": index, "function": {"arguments": delta["partial_json"]}}]})
            return b""  # signature_delta, citations_delta: nothing to say
        if name == "content_block_start":
            payload = orjson.loads(data)
            block = payload["content_block"]
            if block.get("type") != "tool_use":
                return b""
            index = len(self._tool_index)
            self._tool_index[payload["index"]] = index
            self._silent.add(payload["index"])
            call = {
                "index": index,
                "id": block["id"],
                "type": "function",
                "function": {"name": block["name"], "arguments": ""},
            }
            return self._chunk({"tool_calls": [call]})
        if name == "message_start":
            message = orjson.loads(data)["message"]
            self._usage = dict(message.get("usage") or {})
            head = {"id": chat_id(message.get("id")), "object": "chat.completion.chunk", "created": self._created}
            head["model"] = message.get("model", "")
            self._head = orjson.dumps(head)[:-1] + b","
            return self._chunk({"role": "assistant", "content": ""})
        if name == "message_delta":
            payload = orjson.loads(data)
            self._usage.update({k: v for k, v in (payload.get("usage") or {}).items() if v is not None})
            reason = finish_reason(payload.get("delta", {}).get("stop_reason"))
            return self._chunk({}, reason)
        if name == "message_stop":
            self.done = True
            if not self._include_usage:
                return DONE
            usage = orjson.dumps({"choices": [], "usage": openai_usage(self._usage)})[1:]
            return b"data: " + self._head + usage + b"\n\n" + DONE
        if name == "error":
            self.done = True
            return _data(openai_error(data.encode()))
        if name == "ping":
            return PING
        if name == "content_block_stop":
            block_index = orjson.loads(data)["index"]
            if block_index in self._silent:  # a call without arguments: "{}", as OpenAI sends it
                self._silent.discard(block_index)
                call = {"index": self._tool_index[block_index], "function": {"arguments": "{}"}}
                return self._chunk({"tool_calls": [call]})
        return b""  # other block stops and unknown events

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        choices = orjson.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        return b"data: " + self._head + choices[1:] + b"\n\n"


def _data(payload: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"
