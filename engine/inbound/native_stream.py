"""An OpenAI-format stream relayed to an OpenAI-format client: bytes pass, whole events only.

Only the `model` of each chunk may change (when answers name the requested model, as the Anthropic
pass-through does for message_start). Chunks are `data:` lines of compact JSON objects whose only
`"model":"` key is the chunk's own (a string value holding that text would have its quotes escaped).
"""

from __future__ import annotations

import re

import orjson

_MODEL = re.compile(rb'"model"\s*:\s*"(?:[^"\\]|\\.)*"')
_SEPARATORS = (b"\n\n", b"\r\n\r\n", b"\r\r")


class NativeChatStream:
    """`feed(bytes) -> bytes` holding a partial event back; `complete` once `data: [DONE]` passed."""

    def __init__(self, response_model: str | None) -> None:
        self._model = b'"model":' + orjson.dumps(response_model) if response_model is not None else None
        self._tail = b""
        self.complete = False
        self.errored = False

    def feed(self, chunk: bytes) -> bytes:
        data = self._tail + chunk if self._tail else chunk
        cut = max((data.rfind(s) + len(s) if data.rfind(s) >= 0 else 0) for s in _SEPARATORS)
        self._tail = data[cut:]
        out = data[:cut]
        if not out:
            return b""
        if b"[DONE]" in out and _done(out):
            self.complete = True
        elif b'data: {"error"' in out:
            self.errored = True
        if self._model is not None:
            model = self._model
            out = _MODEL.sub(lambda _: model, out)
        return out

    def finish(self) -> bytes:
        return b""  # a partial event can never complete


def _done(data: bytes) -> bool:
    return any(line.strip() == b"data: [DONE]" for line in data.splitlines())
