"""One adapter per upstream wire format, looked up by `provider.format`: handlers never branch on it.

An adapter builds the upstream request, translates a JSON answer, opens a stream translator that turns
upstream bytes into Anthropic SSE bytes, and turns an upstream error into an Anthropic error.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import replace
from types import ModuleType
from typing import Any, Protocol

import orjson

from cc_proxy.engine.emulate.report import AnswerReport
from cc_proxy.engine.snapshot import ResolvedModel, Snapshot
from cc_proxy.engine.wire import anthropic
from cc_proxy.engine.wire.errors import anthropic_error_from_json, anthropic_error_from_upstream
from cc_proxy.engine.wire.formats import TRANSLATED_WIRES
from cc_proxy.engine.wire.sse import SSEDecoder, encode
from cc_proxy.engine.wire.tool_hold import ToolInputHold
from cc_proxy.engine.wire.tool_repair import repair_message
from cc_proxy.engine.wire.types import SSEEvent, TranslationContext, UpstreamRequest


class StreamTranslator(Protocol):
    """A dialect module's `StreamTranslator`: decoded upstream events in, Anthropic events out."""

    def feed(self, event: SSEEvent) -> list[SSEEvent]: ...
    def finish(self) -> list[SSEEvent]: ...
    @property
    def completed(self) -> bool: ...
    @property
    def done(self) -> bool: ...


class StreamBroken(ValueError):
    """The upstream stream cannot go on (e.g. an event that is not JSON); `good` holds the whole events
    of the last chunk that came before the fault, still to be sent before the in-band error."""

    def __init__(self, message: str, good: bytes) -> None:
        super().__init__(message)
        self.good = good


class ErrorAnswer(Exception):
    """A 2xx answer whose body is an Anthropic error: it is that error, with the status of its type
    (overloaded_error -> 529), so retries, fallbacks and the breaker treat it as the failure it is."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


class NotAMessage(ValueError):
    """A 2xx JSON answer that is not a Messages response at all (`{"hello": "world"}`)."""


class StreamAdapter(Protocol):
    """Upstream stream bytes in, Anthropic SSE bytes out. `complete` once the terminal event passed.

    `feed` returns whole events only: between two sends the client is at an event boundary, where the
    relay may add a `ping` or its in-band error."""

    def feed(self, chunk: bytes) -> bytes: ...
    def finish(self) -> bytes: ...
    @property
    def complete(self) -> bool: ...
    @property
    def errored(self) -> bool: ...  # an `error` event already went to the client: do not add another


class WireAdapter(Protocol):
    def build_request(
        self, target: ResolvedModel, request: dict[str, Any], headers: Mapping[str, str]
    ) -> UpstreamRequest: ...
    def translate_response(self, body: bytes, ctx: TranslationContext) -> bytes: ...
    def stream(self, ctx: TranslationContext) -> StreamAdapter: ...
    def error(self, status: int, body: bytes, content_type: str) -> tuple[int, bytes]: ...
    # Seconds an error body asks to wait before a retry, for upstreams that say it there, not in headers.
    def retry_after(self, body: bytes) -> float | None: ...


class _AnthropicStream:
    """Bytes pass through untouched except `message_start`'s model (engine.wire.anthropic's relay).

    Only whole events go out: the bytes of an event still arriving are held until its blank line, so
    an in-band error the proxy adds later never lands inside a half-sent event (an upstream cut or an
    event over the size cap)."""

    def __init__(self, ctx: TranslationContext) -> None:
        self._relay = anthropic.AnthropicStreamRelay(ctx)
        self._complete = False
        self._tail = b""

    def feed(self, chunk: bytes) -> bytes:
        try:
            out = self._relay.feed(chunk)
        except anthropic.UnreadableEvent as exc:
            tail, self._tail = self._tail, b""
            raise StreamBroken(str(exc), _whole_events(tail + exc.out, exc.valid_before)) from None
        if not out:
            return out
        if self._tail:
            out = self._tail + out
            self._tail = b""
        cut = _last_event_end(out)
        if cut == len(out):
            return out
        self._tail = out[cut:]
        return out[:cut]

    def finish(self) -> bytes:
        self._complete = self._relay.finish()  # message_stop seen and no partial event left over
        return b""  # a held partial event is dropped: it can never complete

    @property
    def complete(self) -> bool:
        return self._complete

    @property
    def errored(self) -> bool:
        return self._relay.error is not None


class _ReportedStream:
    """An Anthropic-format stream whose `message_delta` must carry what the proxy applied (context edits
    for an Anthropic-compatible upstream that lacks them): the whole events the relay lets out are
    decoded, reported on (engine.emulate.report) and encoded again. Used only for those answers."""

    def __init__(self, inner: _AnthropicStream, report: AnswerReport) -> None:
        self._inner = inner
        self._report = report
        self._decoder = SSEDecoder()

    def feed(self, chunk: bytes) -> bytes:
        out = self._inner.feed(chunk)
        if not out:
            return out
        events = self._report.events(self._decoder.feed(out))
        return b"".join([encode(e) for e in events])

    def finish(self) -> bytes:
        return self._inner.finish()

    @property
    def complete(self) -> bool:
        return self._inner.complete

    @property
    def errored(self) -> bool:
        return self._inner.errored


class ReplayedStream:
    """The adapter of a stream synthesised whole from a JSON answer (engine.wire.replay): every byte is
    already held, nothing more arrives, and it is complete."""

    complete = True
    errored = False

    def feed(self, chunk: bytes) -> bytes:
        raise StreamBroken("a replayed stream has no upstream stream", b"")

    def finish(self) -> bytes:
        return b""


def _whole_events(data: bytes, count: int) -> bytes:
    """The first `count` events of `data`, which starts at an event boundary (rare path: decoded again)."""
    if count <= 0:
        return b""
    _, ends = SSEDecoder().feed_with_ends(data)
    return data[: ends[count - 1]]


def _last_event_end(data: bytes) -> int:
    """Offset just past the last blank line (an event's end) in `data`; 0 when there is none."""
    end = 0
    for separator in (b"\n\n", b"\r\n\r\n", b"\r\r"):
        found = data.rfind(separator)
        if found >= 0:
            end = max(end, found + len(separator))
    return end


class _TranslatedStream:
    """SSE decode -> dialect translator (feed(event) -> events) -> SSE encode. What the proxy emulated
    (engine.emulate) is reported in `message_delta`, for every translated wire alike."""

    def __init__(self, translator: StreamTranslator, ctx: TranslationContext) -> None:
        self._decoder = SSEDecoder()
        self._translator = translator
        report = AnswerReport(ctx)
        self._report = report if report.active else None  # None: nothing to add or hide
        # Tool-call repair: tool input held to its block's end (engine/wire/tool_hold.py)
        self._hold = ToolInputHold(ctx.tool_repair) if ctx.tool_repair is not None else None

    def feed(self, chunk: bytes) -> bytes:
        out: list[SSEEvent] = []
        for event in self._decoder.feed(chunk):
            out.extend(self._translator.feed(event))
        if self._hold is not None and out:
            out = self._hold.feed(out)
        return self._encode(out)

    def finish(self) -> bytes:
        out: list[SSEEvent] = []
        for event in self._decoder.finish(dispatch_incomplete=True):
            out.extend(self._translator.feed(event))
        out.extend(self._translator.finish())
        if self._hold is not None:
            out = self._hold.feed(out)
            # A stream that ended inside a tool block: its held input goes before whatever ends it.
            out = self._hold.finish() + out
        return self._encode(out)

    @property
    def complete(self) -> bool:
        return self._translator.completed

    @property
    def errored(self) -> bool:
        return self._translator.done and not self._translator.completed

    def _encode(self, events: list[SSEEvent]) -> bytes:
        if not events:
            return b""
        if self._report is not None:
            events = self._report.events(events)
        return b"".join([encode(e) for e in events])


def _anthropic_report(ctx: TranslationContext) -> AnswerReport:
    """Anthropic-format thinking blocks are the upstream's own (signed by it): never emptied here."""
    return AnswerReport(replace(ctx, omit_thinking=False))


def _error_from_upstream(status: int, body: bytes, content_type: str) -> tuple[int, bytes]:
    """Any upstream error as an Anthropic error, by the one table in engine.wire.errors (reliability
    U18/U19: redirects, HTML and garbage become a 502 quoting at most 200 redacted bytes)."""
    client_status, payload = anthropic_error_from_upstream(status, body, content_type)
    return client_status, orjson.dumps(payload)


class AnthropicWire:
    def build_request(
        self, target: ResolvedModel, request: dict[str, Any], headers: Mapping[str, str]
    ) -> UpstreamRequest:
        return anthropic.build_request(target, request, headers)

    def translate_response(self, body: bytes, ctx: TranslationContext) -> bytes:
        payload = orjson.loads(body)
        if not isinstance(payload, dict):
            raise NotAMessage("not a JSON object")
        if payload.get("type") == "error" and isinstance(payload.get("error"), dict):
            found = anthropic_error_from_json(200, payload)
            raise ErrorAnswer(found[0] if found is not None else 500, body)
        # `type` may be missing on a compatible upstream; a message always has a content list
        if payload.get("type", "message") != "message" or not isinstance(payload.get("content"), list):
            raise NotAMessage("no message type and content list")
        message = anthropic.translate_response(payload, ctx)
        if ctx.context_management is not None:
            message = _anthropic_report(ctx).message(message)
        return orjson.dumps(message)

    def stream(self, ctx: TranslationContext) -> StreamAdapter:
        inner = _AnthropicStream(ctx)
        return _ReportedStream(inner, _anthropic_report(ctx)) if ctx.context_management is not None else inner

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

    def retry_after(self, body: bytes) -> float | None:
        return None  # Anthropic sends retry-after as a header


class TranslatedWire:
    """A format translated by one engine module (engine.wire.formats names it). The module is imported
    when a config first names the format (`prepare`), not with the server: a config without such
    providers never holds it (~0.4 MB for the OpenAI one)."""

    def __init__(self, module: str) -> None:
        self._module = module
        self._translator: ModuleType | None = None

    def prepare(self) -> ModuleType:
        if self._translator is None:
            self._translator = importlib.import_module(self._module)
        return self._translator

    def build_request(
        self, target: ResolvedModel, request: dict[str, Any], headers: Mapping[str, str]
    ) -> UpstreamRequest:
        built: UpstreamRequest = self.prepare().build_request(target, request, headers)
        return built

    def translate_response(self, body: bytes, ctx: TranslationContext) -> bytes:
        message = self.prepare().translate_response(orjson.loads(body), ctx)
        if ctx.tool_repair is not None:
            repair_message(message, ctx.tool_repair)
        return orjson.dumps(AnswerReport(ctx).message(message))

    def stream(self, ctx: TranslationContext) -> StreamAdapter:
        return _TranslatedStream(self.prepare().StreamTranslator(ctx), ctx)

    def error(self, status: int, body: bytes, content_type: str) -> tuple[int, bytes]:
        return _error_from_upstream(status, body, content_type)

    def retry_after(self, body: bytes) -> float | None:
        hint = getattr(self.prepare(), "retry_after", None)
        return hint(body) if hint is not None else None


WIRES: dict[str, WireAdapter] = {
    "anthropic": AnthropicWire(),
    **{fmt: TranslatedWire(module) for fmt, module in TRANSLATED_WIRES.items()},
}


def prepare_wires(formats: Iterable[str]) -> None:
    """Import the translators these formats need now (at startup, or on the reloading thread), so the
    first request of a format does not pay for it."""
    for fmt in formats:
        prepare = getattr(WIRES.get(fmt), "prepare", None)
        if prepare is not None:
            prepare()


def formats_of(snapshot: Snapshot) -> set[str]:
    return {provider.format for provider in snapshot.providers.values()}


def wire_for(fmt: str) -> WireAdapter:
    try:
        return WIRES[fmt]
    except KeyError:
        raise LookupError(f"wire format {fmt!r} is not supported by this server") from None
