"""Scripted upstream sides of short Claude Code sessions, as FakeUpstream responders.

Each responder looks at the request it gets (not at a counter), so a retry or a side request the CLI makes
on its own gets a sensible answer too: anything that is not the conversation under test gets a short text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tests.fakes.anthropic_stream import message, message_stream, text, tool_use
from tests.fakes.openai_stream import ToolCall, chat_stream_payloads, encode_chunks
from tests.fakes.responses import Json, Response, Stream
from tests.fakes.server import RecordedRequest

Responder = Callable[[RecordedRequest], Response]
SIDE_ANSWER = "ok"


def _tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool_result blocks of the last user turn."""
    messages = body.get("messages") or []
    if not messages or messages[-1].get("role") != "user" or isinstance(messages[-1].get("content"), str):
        return []
    return [b for b in messages[-1]["content"] if isinstance(b, dict) and b.get("type") == "tool_result"]


def _anthropic(*blocks: dict[str, Any], model: str, stream_ignored: bool = False) -> Response:
    """The answer as a stream, or, for a server that ignores `stream`, as one JSON message."""
    answer = message(*blocks, model=model)
    return Json(answer) if stream_ignored else Stream(message_stream(answer))


def anthropic_say_hi(answer: str) -> Responder:
    def respond(req: RecordedRequest) -> Response:
        body = req.json
        return _anthropic(text(answer if body.get("tools") else SIDE_ANSWER), model=body["model"])

    return respond


def anthropic_tool_round_trip(
    command: str, final: str, tool_id: str = "toolu_01E2eBashCall00001", *, stream_ignored: bool = False
) -> Responder:
    """First turn: run `command` with the Bash tool; once its tool_result is back: `final`.
    `stream_ignored`: every answer is one JSON body, as from a server that ignores `stream`."""

    def respond(req: RecordedRequest) -> Response:
        body = req.json
        model = body["model"]
        if not body.get("tools"):
            return _anthropic(text(SIDE_ANSWER), model=model, stream_ignored=stream_ignored)
        if any(r.get("tool_use_id") == tool_id for r in _tool_results(body)):
            return _anthropic(text(final), model=model, stream_ignored=stream_ignored)
        call = tool_use("Bash", {"command": command, "description": "Write the marker file"}, id=tool_id)
        return _anthropic(text("Running it."), call, model=model, stream_ignored=stream_ignored)

    return respond


# --- OpenAI Chat Completions (DeepSeek dialect: reasoning in `reasoning_content`) --------------------


def _interleaved(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parallel tool calls arriving mixed, as real providers stream them: every call opened (id, name)
    first, then their argument fragments round-robin."""
    is_call = [bool(p["choices"]) and "tool_calls" in p["choices"][0]["delta"] for p in payloads]
    if not any(is_call):
        return payloads
    first, last = is_call.index(True), len(is_call) - is_call[::-1].index(True)
    by_index: dict[int, list[dict[str, Any]]] = {}
    for p in payloads[first:last]:
        by_index.setdefault(p["choices"][0]["delta"]["tool_calls"][0]["index"], []).append(p)
    opens = [chunks[0] for chunks in by_index.values()]
    fragments = [chunks[1:] for chunks in by_index.values()]
    mixed = [f[i] for i in range(max(map(len, fragments))) for f in fragments if i < len(f)]
    return [*payloads[:first], *opens, *mixed, *payloads[last:]]


def _pieces(value: str, n: int = 3) -> list[str]:
    size = max(1, -(-len(value) // n))
    return [value[i : i + size] for i in range(0, len(value), size)] if value else []


def openai_stream(
    model: str, *, reasoning: str = "", content: str = "", tool_calls: Sequence[tuple[str, str, dict[str, Any]]] = ()
) -> Stream:
    """A streamed Chat Completion as DeepSeek sends it: `reasoning_content` deltas, content deltas, the
    tool calls (`(id, name, arguments)`) interleaved, a finish chunk, a usage chunk and `[DONE]`."""
    calls = [ToolCall(call_id, name, _pieces(json.dumps(args))) for call_id, name, args in tool_calls]
    payloads = chat_stream_payloads(
        content=_pieces(content), reasoning=_pieces(reasoning), tool_calls=calls, model=model, id="chatcmpl-e2e"
    )
    return Stream(encode_chunks(_interleaved(payloads)))


def _called_tools(body: dict[str, Any]) -> set[str]:
    """Names of the tools the assistant already called in this conversation."""
    return {
        call["function"]["name"]
        for m in body.get("messages") or []
        if m.get("role") == "assistant"
        for call in m.get("tool_calls") or []
    }


@dataclass(frozen=True)
class EditSession:
    """Read `path`, then Edit it and run `command` as two parallel calls in one turn, then a final text.
    Every turn thinks first (`reasoning_content`)."""

    path: str
    old: str
    new: str
    command: str
    final: str = "Updated the notes and ran the build."
    reasoning: tuple[str, str, str] = (
        "The user wants the notes updated; read the file first.",
        "It says TODO. Edit it and run the build at the same time.",
        "Both tools succeeded.",
    )

    def __call__(self, req: RecordedRequest) -> Response:
        body = req.json
        model = body["model"]
        if not body.get("tools"):
            return openai_stream(model, content=SIDE_ANSWER)
        called = _called_tools(body)
        if "Edit" in called:
            return openai_stream(model, reasoning=self.reasoning[2], content=self.final)
        if "Read" in called:
            edit = {"file_path": self.path, "old_string": self.old, "new_string": self.new}
            bash = {"command": self.command, "description": "Run the build"}
            return openai_stream(
                model,
                reasoning=self.reasoning[1],
                content="Editing and building.",
                tool_calls=[("call_01_edit", "Edit", edit), ("call_02_bash", "Bash", bash)],
            )
        read = {"file_path": self.path}
        return openai_stream(model, reasoning=self.reasoning[0], tool_calls=[("call_00_read", "Read", read)])
