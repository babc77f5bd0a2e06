"""Streamed tool input held to its block's end, so it can be repaired (engine.wire.tool_repair).

Between a translator's Anthropic events and the encoder: a tool_use block's `input_json_delta`
fragments are kept back; at its `content_block_stop` the (repaired) input goes out as one
`input_json_delta`, then the stop. Text and thinking events pass at once; only events inside an open
tool_use block are parsed.
"""

from __future__ import annotations

from typing import Any

import orjson
from cc_proxy.engine.wire.tool_repair import ToolRepair
from cc_proxy.engine.wire.types import SSEEvent


class ToolInputHold:
    __slots__ = ("_index", "_name", "_parts", "_repair")

    def __init__(self, repair: ToolRepair) -> None:
        self._repair = repair
        self._index: int | None = None
        self._name = ""
        self._parts: list[str] = []

    def feed(self, events: list[SSEEvent]) -> list[SSEEvent]:
        out: list[SSEEvent] = []
        for event in events:
            kind = event.event
            if kind == "content_block_start":
                self._start(event)
            elif self._index is not None and kind == "content_block_delta":
                if self._held(event):
                    continue
            elif self._index is not None and kind == "content_block_stop":
                out.append(self._input())
                self._index = None
            out.append(event)
        return out

    def finish(self) -> list[SSEEvent]:
        """A stream that ended inside a tool block: what was held goes out as it came."""
        if self._index is None or not self._parts:
            return []
        raw = "".join(self._parts)
        self._parts = []
        return [_delta(self._index, raw)]

    def _start(self, event: SSEEvent) -> None:
        data: Any = orjson.loads(event.data)
        block = data.get("content_block") if isinstance(data, dict) else None
        if isinstance(block, dict) and block.get("type") == "tool_use" and isinstance(data.get("index"), int):
            self._index = data["index"]
            self._name = str(block.get("name", ""))
            self._parts = []

    def _held(self, event: SSEEvent) -> bool:
        data: Any = orjson.loads(event.data)
        delta = data.get("delta") if isinstance(data, dict) else None
        if not isinstance(delta, dict) or delta.get("type") != "input_json_delta" or data.get("index") != self._index:
            return False
        self._parts.append(str(delta.get("partial_json", "")))
        return True

    def _input(self) -> SSEEvent:
        assert self._index is not None
        raw = "".join(self._parts)
        self._parts = []
        fixed = self._repair.repair_raw(self._name, raw)
        return _delta(self._index, orjson.dumps(fixed.value).decode() if fixed.repaired else raw)


def _delta(index: int, partial_json: str) -> SSEEvent:
    body = {
        "type": "content_block_delta",
        "index": index,
        "delta": {"type": "input_json_delta", "partial_json": partial_json},
    }
    return SSEEvent(orjson.dumps(body).decode(), "content_block_delta")
