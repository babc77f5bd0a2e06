"""Front doors: how a client's format enters the one pipeline and how answers leave in that format.

A door opens a request into an `Inbound`: the engine's (Anthropic) form for the rules, the wires to use
(its own native wire for targets of the client's format), and the renderers for answers, streams and
errors. The Anthropic door is the identity; the OpenAI ones live in engine/inbound/.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from cc_proxy.engine.inbound.chat_answer import chat_completion, openai_error
from cc_proxy.engine.inbound.chat_request import normalise_chat
from cc_proxy.engine.inbound.chat_stream import PING as OPENAI_PING
from cc_proxy.engine.inbound.chat_stream import ChatStreamRenderer
from cc_proxy.engine.inbound.native import native_body
from cc_proxy.engine.inbound.native_stream import CHAT_MARKS, RESPONSES_MARKS, NativeStream
from cc_proxy.engine.inbound.responses_answer import response
from cc_proxy.engine.inbound.responses_request import normalise_responses
from cc_proxy.engine.inbound.responses_stream import ResponsesStreamRenderer
from cc_proxy.engine.snapshot import ResolvedModel
from cc_proxy.engine.wire.errors import anthropic_error_from_upstream, error_body
from cc_proxy.engine.wire.types import TranslationContext, UpstreamRequest
from cc_proxy.server.observe.usage_tap import DELTA_MARK
from cc_proxy.server.relay import ANTHROPIC_FRAMING, StreamFraming
from cc_proxy.server.request_body import check_messages_request
from cc_proxy.server.wire_registry import StreamAdapter, StreamBroken, WireAdapter, wire_for


class Renderer(Protocol):
    """Anthropic SSE bytes in, the client's SSE bytes out (whole events); also the relay's framing."""

    done: bool

    def feed(self, data: bytes) -> bytes: ...
    def finish(self) -> bytes: ...
    def error(self, error_type: str, message: str) -> bytes: ...


@dataclass(slots=True)
class Inbound:
    """One client request, opened by its door."""

    request: dict[str, Any]  # the engine's form: what the rules see and Anthropic-format targets get
    stream: bool
    wires: Callable[[str], WireAdapter] = wire_for
    native_format: str | None = None  # answers from targets of this format are already the client's
    render_answer: Callable[[bytes], bytes] | None = None  # None: Anthropic answers go out as they are
    renderer: Callable[[], Renderer] | None = None
    framing: StreamFraming = ANTHROPIC_FRAMING
    dropped: tuple[str, ...] = field(default=())

    def answer(self, body: bytes, target_format: str) -> bytes:
        if self.render_answer is None or target_format == self.native_format:
            return body
        return self.render_answer(body)

    def stream_out(
        self, adapter: StreamAdapter, held: bytes, target_format: str
    ) -> tuple[StreamAdapter, bytes, StreamFraming]:
        """The committed stream (its adapter and the bytes the gate held) in the client's format, and
        the framing the relay adds pings and errors with."""
        if self.renderer is None or target_format == self.native_format:
            return adapter, held, self.framing
        rendered = RenderedStream(adapter, self.renderer())
        if DELTA_MARK in held:  # the gate held the whole (short) answer: its usage is in there
            rendered.delta_chunk = held
        return rendered, rendered.render(held), rendered


class FrontDoor(Protocol):
    name: str  # in the request's log line
    endpoint: str  # the usage record's endpoint name

    def open(self, body: dict[str, Any], raw: bytes, created: int) -> Inbound: ...
    def error_body(self, anthropic_body: bytes) -> bytes: ...


class AnthropicDoor:
    name = "anthropic"
    endpoint = "messages"

    def open(self, body: dict[str, Any], raw: bytes, created: int) -> Inbound:
        check_messages_request(body)
        return Inbound(body, body.get("stream") is True)

    def error_body(self, anthropic_body: bytes) -> bytes:
        return anthropic_body


class ChatDoor:
    """POST /v1/chat/completions."""

    name = "openai-chat"
    endpoint = "chat_completions"

    def open(self, body: dict[str, Any], raw: bytes, created: int) -> Inbound:
        normalised = normalise_chat(body)
        native = NativeWire(raw, body, normalised.request, CHAT_NATIVE)

        def wires(fmt: str) -> WireAdapter:
            return native if fmt == "openai" else wire_for(fmt)

        def render(answer: bytes) -> bytes:
            return orjson.dumps(chat_completion(orjson.loads(answer), created))

        include_usage = normalised.include_usage
        return Inbound(
            normalised.request,
            normalised.stream,
            wires,
            native_format="openai",
            render_answer=render,
            renderer=lambda: ChatStreamRenderer(created, include_usage),
            framing=OPENAI_FRAMING,
            dropped=normalised.dropped,
        )

    def error_body(self, anthropic_body: bytes) -> bytes:
        return orjson.dumps(openai_error(anthropic_body))


class ResponsesDoor:
    """POST /v1/responses (Codex CLI). An `openai-responses` target gets the client's own request (the
    rewrite applied); any other gets the engine's form, translated as for Anthropic clients."""

    name = "openai-responses"
    endpoint = "responses"

    def open(self, body: dict[str, Any], raw: bytes, created: int) -> Inbound:
        normalised = normalise_responses(body)
        tools = normalised.tools
        native = NativeWire(raw, body, normalised.request, RESPONSES_NATIVE)

        def wires(fmt: str) -> WireAdapter:
            return native if fmt == RESPONSES_NATIVE.format else wire_for(fmt)

        def render(answer: bytes) -> bytes:
            return orjson.dumps(response(orjson.loads(answer), created, tools))

        return Inbound(
            normalised.request,
            normalised.stream,
            wires,
            native_format=RESPONSES_NATIVE.format,
            render_answer=render,
            renderer=lambda: ResponsesStreamRenderer(created, tools),
            framing=OPENAI_FRAMING,
            dropped=normalised.dropped,
        )

    def error_body(self, anthropic_body: bytes) -> bytes:
        return orjson.dumps(openai_error(anthropic_body))


class OpenAIFraming:
    """Pings as SSE comments (every SSE reader skips them); errors as `data: {"error": ...}`."""

    ping = OPENAI_PING

    def error(self, error_type: str, message: str) -> bytes:
        return b"data: " + orjson.dumps(openai_error(orjson.dumps(error_body(error_type, message)))) + b"\n\n"


OPENAI_FRAMING = OpenAIFraming()


class RenderedStream:
    """A committed Anthropic-bytes adapter followed by a renderer: the client's bytes out."""

    def __init__(self, inner: StreamAdapter, renderer: Renderer) -> None:
        self._inner = inner
        self._renderer = renderer
        self.ping = OPENAI_PING
        self.delta_chunk: bytes | None = None  # the last Anthropic chunk with a message_delta (usage)

    def render(self, data: bytes) -> bytes:
        return self._renderer.feed(data) if data else b""

    def feed(self, chunk: bytes) -> bytes:
        try:
            out = self._inner.feed(chunk)
        except StreamBroken as exc:
            raise StreamBroken(str(exc), self.render(exc.good)) from None
        if not out:
            return b""
        if DELTA_MARK in out:
            self.delta_chunk = out
        return self._renderer.feed(out)

    def finish(self) -> bytes:
        return self.render(self._inner.finish()) + self._renderer.finish()

    def error(self, error_type: str, message: str) -> bytes:
        return self._renderer.error(error_type, message)

    @property
    def complete(self) -> bool:
        return self._inner.complete

    @property
    def errored(self) -> bool:
        return self._inner.errored


@dataclass(frozen=True, slots=True)
class NativeFormat:
    """What carrying a rewrite back onto a client's own request needs to know about its format."""

    format: str  # the provider format that speaks it
    path: str
    max_tokens_fields: tuple[str, ...]  # the format's names for the output limit
    stop_field: str | None
    translator: str  # the wire module whose PASSTHROUGH_FIELDS a rule or a model's params may set
    marks: tuple[tuple[bytes, ...], tuple[bytes, ...]]  # a stream's end and error marks


CHAT_NATIVE = NativeFormat(
    "openai",
    "/chat/completions",
    ("max_completion_tokens", "max_tokens"),
    "stop",
    "cc_proxy.engine.wire.openai_request",
    CHAT_MARKS,
)
RESPONSES_NATIVE = NativeFormat(
    "openai-responses",
    "/responses",
    ("max_output_tokens",),
    None,
    "cc_proxy.engine.wire.responses_request",
    RESPONSES_MARKS,
)


class NativeWire:
    """The wire for a target of the client's own format: its request goes up (engine.inbound.native),
    answers and streams come back as they are but for `model`; a rewrite only a translation can carry
    falls back to the translation of the engine's form, whose answers are in that format all the same."""

    def __init__(self, raw: bytes, client: dict[str, Any], normalised: dict[str, Any], fmt: NativeFormat) -> None:
        self._raw = raw
        self._client = client
        self._normalised = normalised
        self._fmt = fmt

    def build_request(
        self, target: ResolvedModel, request: dict[str, Any], headers: Mapping[str, str]
    ) -> UpstreamRequest:
        fmt = self._fmt
        fields = fmt.max_tokens_fields
        preferred = target.provider.profile.max_tokens_field
        if preferred in fields:  # the profile's name first, for a client that sent none
            fields = (preferred, *(f for f in fields if f != preferred))
        body = native_body(
            self._raw,
            self._client,
            self._normalised,
            request,
            target,
            max_tokens_fields=fields,
            stop_field=fmt.stop_field,
            # loaded already: a target of this format is configured (server/wire_registry.py prepares it)
            passthrough=importlib.import_module(fmt.translator).PASSTHROUGH_FIELDS,
        )
        if body is None:
            return wire_for(fmt.format).build_request(target, request, headers)
        stream = self._client.get("stream") is True
        return UpstreamRequest(fmt.path, {"content-type": "application/json"}, body, stream)

    def translate_response(self, body: bytes, ctx: TranslationContext) -> bytes:
        answer = orjson.loads(body)
        if not isinstance(answer, dict):
            raise ValueError("upstream answer is not a JSON object")
        if answer.get("model") == ctx.response_model:
            return body
        answer["model"] = ctx.response_model
        return orjson.dumps(answer)

    def stream(self, ctx: TranslationContext) -> StreamAdapter:
        # Answers naming the upstream's model need no edit: its events already do.
        rename = ctx.response_model != ctx.target.upstream_model
        return NativeStream(ctx.response_model if rename else None, self._fmt.marks)

    def error(self, status: int, body: bytes, content_type: str) -> tuple[int, bytes]:
        """An OpenAI error body passes as it is (the client reads its code and param); others by the table."""
        client_status, payload = anthropic_error_from_upstream(status, body, content_type)
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
            error = parsed["error"]
            if isinstance(error.get("message"), str):
                shaped = {"message": error["message"], "type": error.get("type"), "param": error.get("param")}
                shaped["code"] = error.get("code")
                return client_status, orjson.dumps({"error": shaped})
        return client_status, orjson.dumps(payload)

    def retry_after(self, body: bytes) -> float | None:
        return None  # OpenAI says it in headers


ANTHROPIC_DOOR = AnthropicDoor()
CHAT_DOOR = ChatDoor()
RESPONSES_DOOR = ResponsesDoor()
