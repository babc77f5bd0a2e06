"""An OpenAI-format stream relayed to a client of the same format: bytes pass, whole events only.

Only `model` may change (when answers name the requested model, as the Anthropic pass-through does
for message_start): in Chat Completions chunks and in the `response` objects of Responses events, the
only `"model":"` keys are those (a string value holding that text would have its quotes escaped).
"""

from __future__ import annotations

import re

import orjson

_MODEL = re.compile(rb'"model"\s*:\s*"(?:[^"\\]|\\.)*"')
_SEPARATORS = (b"\n\n", b"\r\n\r\n", b"\r\r")


CHAT_MARKS = ((b"data: [DONE]",), (b'data: {"error"',))
RESPONSES_MARKS = (
    (b"event: response.completed", b"event: response.incomplete"),
    (b"event: error", b"event: response.failed"),
)


class NativeStream:
    """`feed(bytes) -> bytes` holding a partial event back; `complete` once an end mark passed,
    `errored` once an error mark did. `marks`: (end lines, error line prefixes), CHAT_MARKS or
    RESPONSES_MARKS."""

    def __init__(
        self, response_model: str | None, marks: tuple[tuple[bytes, ...], tuple[bytes, ...]] = CHAT_MARKS
    ) -> None:
        self._ends, self._errors = marks
        self._model = b'"model":' + orjson.dumps(response_model) if response_model is not None else None
        self._tail = b""
        self.complete = False
        self.errored = False
        self.usage_chunk: bytes | None = None  # the last chunk with a usage object (engine.inbound.native_usage)

    def feed(self, chunk: bytes) -> bytes:
        data = self._tail + chunk if self._tail else chunk
        cut = max((data.rfind(s) + len(s) if data.rfind(s) >= 0 else 0) for s in _SEPARATORS)
        self._tail = data[cut:]
        out = data[:cut]
        if not out:
            return b""
        if any(end in out for end in self._ends) and _ends(out, self._ends):
            self.complete = True
        elif any(error in out for error in self._errors):
            self.errored = True
        if b'"usage":{' in out:
            self.usage_chunk = out
        if self._model is not None:
            model = self._model
            out = _MODEL.sub(lambda _: model, out)
        return out

    def finish(self) -> bytes:
        return b""  # a partial event can never complete


def _ends(data: bytes, ends: tuple[bytes, ...]) -> bool:
    """An end mark as a whole line (not inside some event's data)."""
    return any(line.strip() in ends for line in data.splitlines())
