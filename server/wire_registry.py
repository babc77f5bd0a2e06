"""One adapter per upstream wire format, looked up by `provider.format`: handlers never branch on it.

An adapter builds the upstream request, translates a JSON answer, opens a stream translator that turns
upstream bytes into Anthropic SSE bytes, and turns an upstream error into an Anthropic error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import orjson

from engine.snapshot import ResolvedModel
from engine.wire.sse import SSEDecoder, encode
from engine.wire.types import SSEEvent, TranslationContext, UpstreamRequest


class StreamAdapter(Protocol):
    """Upstream stream bytes in, Anthropic SSE bytes out. `complete` once the terminal event passed."""

    needs_pings: bool  # True when the proxy must keep the client alive itself (translated streams)

    def feed(self, chunk: bytes) -> bytes: ...
    def finish(self) -> bytes: ...
    @property
    def complete(self) -> bool: ...


class WireAdapter(Protocol):
    def build_request(
        self, target: ResolvedModel, request: Mapping[str, Any], headers: Mapping[str, str]
    ) -> UpstreamRequest: ...
    def translate_response(self, body: bytes, ctx: TranslationContext) -> bytes: ...
    def stream(self, ctx: TranslationContext) -> StreamAdapter: ...
    def error(self, status: int, body: bytes, content_type: str) -> tuple[int, bytes]: ...


class _AnthropicStream:
    """Bytes pass through untouched except `message_start`'s model (engine.wire.anthropic's relay)."""

    needs_pings = False

    def __init__(self, ctx: TranslationContext) -> None:
        from engine.wire.anthropic import AnthropicStreamRelay

        self._relay = AnthropicStreamRelay(ctx)

    def feed(self, chunk: bytes) -> bytes:
        return self._relay.feed(chunk)

    def finish(self) -> bytes:
        return b""

    @property
    def complete(self) -> bool:
        return bool(self._relay.complete)


class _TranslatedStream:
    """SSE decode -> dialect translator (feed(event) -> events) -> SSE encode."""

    needs_pings = True

    def __init__(self, translator: Any) -> None:
        self._decoder = SSEDecoder()
        self._translator = translator
        self._complete = False

    def feed(self, chunk: bytes) -> bytes:
        out: list[SSEEvent] = []
        for event in self._decoder.feed(chunk):
            out.extend(self._translator.feed(event))
        return self._encode(out)

    def finish(self) -> bytes:
        out: list[SSEEvent] = []
        for event in self._decoder.finish(dispatch_incomplete=True):
            out.extend(self._translator.feed(event))
        out.extend(self._translator.finish())
        return self._encode(out)

    @property
    def complete(self) -> bool:
        return self._complete

    def _encode(self, events: list[SSEEvent]) -> bytes:
        if not events:
            return b""
        if any(e.event == "message_stop" for e in events):
            self._complete = True
        return b"".join(encode(e) for e in events)


def _error_from_upstream(status: int, body: bytes, content_type: str) -> tuple[int, bytes]:
    from engine.wire.errors import anthropic_error_from_upstream

    out_status, out_body = anthropic_error_from_upstream(status, body, content_type)
    return out_status, orjson.dumps(out_body)


class AnthropicWire:
    def build_request(
        self, target: ResolvedModel, request: Mapping[str, Any], headers: Mapping[str, str]
    ) -> UpstreamRequest:
        from engine.wire import anthropic

        return anthropic.build_request(target, request, headers)

    def translate_response(self, body: bytes, ctx: TranslationContext) -> bytes:
        from engine.wire import anthropic

        return orjson.dumps(anthropic.translate_response(orjson.loads(body), ctx))

    def stream(self, ctx: TranslationContext) -> StreamAdapter:
        return _AnthropicStream(ctx)

    def error(self, status: int, body: bytes, content_type: str) -> tuple[int, bytes]:
        # An Anthropic-format error body passes through unchanged (clients read its exact type/message).
        if content_type.startswith("application/json"):
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError:
                parsed = None
            if isinstance(parsed, dict) and parsed.get("type") == "error" and isinstance(parsed.get("error"), dict):
                return status, body
        return _error_from_upstream(status, body, content_type)


class OpenAIWire:
    def build_request(
        self, target: ResolvedModel, request: Mapping[str, Any], headers: Mapping[str, str]
    ) -> UpstreamRequest:
        from engine.wire import openai

        return openai.build_request(target, request, headers)

    def translate_response(self, body: bytes, ctx: TranslationContext) -> bytes:
        from engine.wire import openai

        return orjson.dumps(openai.translate_response(orjson.loads(body), ctx))

    def stream(self, ctx: TranslationContext) -> StreamAdapter:
        from engine.wire import openai

        return _TranslatedStream(openai.StreamTranslator(ctx))

    def error(self, status: int, body: bytes, content_type: str) -> tuple[int, bytes]:
        return _error_from_upstream(status, body, content_type)


WIRES: dict[str, WireAdapter] = {"anthropic": AnthropicWire(), "openai": OpenAIWire()}


def wire_for(fmt: str) -> WireAdapter:
    try:
        return WIRES[fmt]
    except KeyError:
        raise LookupError(f"wire format {fmt!r} is not supported by this server") from None
