"""Pass-through to Anthropic and Anthropic-compatible upstreams (protocols.md 4.9).

The request is forwarded as received (the engine already rewrote it and set `model`) minus what the
provider's profile says it rejects; headers are an allow-list. Answers come back untouched except the
model name. The stream relay passes upstream bytes through as they are and re-encodes one event at
most (`message_start`, when the model name must change), so the per-chunk cost is one SSE decode.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import orjson
from cc_proxy.engine.snapshot import ResolvedModel
from cc_proxy.engine.wire.reasoning import is_proxy_signature
from cc_proxy.engine.wire.sse import DEFAULT_MAX_EVENT_BYTES, SSEDecoder, SSEEventTooLarge, encode
from cc_proxy.engine.wire.types import SSEEvent, TranslationContext, UpstreamRequest

MESSAGES_PATH = "/v1/messages"
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"

# Never copied from the client, whatever a profile's globs say: credentials (the server adds the
# upstream's own), hop-by-hop headers (RFC 9110 7.6.1) and what the HTTP client recomputes.
NEVER_FORWARDED = frozenset(
    {
        "x-api-key",
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "host",
        "content-length",
        "content-type",
        "content-encoding",
        "accept-encoding",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "x-goog-api-key",
    }
)

# Generation controls `/v1/messages/count_tokens` does not accept (protocols.md 1.8).
_NOT_FOR_COUNTING = ("max_tokens", "stream", "temperature", "top_p", "top_k", "stop_sequences", "metadata")


@lru_cache(maxsize=256)
def _glob_matcher(globs: tuple[str, ...]) -> Callable[[str], re.Match[str] | None]:
    """Compiled once per profile (profiles are frozen, their glob tuples hashable)."""
    if not globs:
        return lambda _name: None
    return re.compile("|".join(fnmatch.translate(g.lower()) for g in globs)).match


def _any_beta(_name: str) -> bool:
    return True


def forward_headers(target: ResolvedModel, client_headers: Mapping[str, str]) -> dict[str, str]:
    """Client headers the profile allows, `anthropic-beta` filtered, plus `content-type`."""
    profile = target.provider.profile
    allowed = _glob_matcher(profile.forward_headers)
    out: dict[str, str] = {}
    for raw_name, value in client_headers.items():
        name = raw_name.lower()
        if name in NEVER_FORWARDED or name.startswith("proxy-") or not allowed(name):
            continue
        if name == "anthropic-beta" and (profile.beta_allow is not None or profile.beta_reject):
            beta_ok: Callable[[str], object] = (
                _glob_matcher(profile.beta_allow) if profile.beta_allow is not None else _any_beta
            )
            beta_bad = _glob_matcher(profile.beta_reject)
            betas = (v.strip() for v in value.split(","))
            kept = [b for b in betas if b and beta_ok(b.lower()) and not beta_bad(b.lower())]
            if not kept:
                continue
            value = ",".join(kept)
        out[name] = value
    out["content-type"] = "application/json"
    return out


def _strip_cache_control(blocks: Any) -> Any:
    """A copy of a block list without `cache_control`, nested tool_result content included."""
    if not isinstance(blocks, list):
        return blocks
    out = []
    for block in blocks:
        if isinstance(block, dict):
            block = {k: v for k, v in block.items() if k != "cache_control"}
            if isinstance(block.get("content"), list):
                block["content"] = _strip_cache_control(block["content"])
        out.append(block)
    return out


def prepare_body(target: ResolvedModel, request: Mapping[str, Any]) -> dict[str, Any]:
    """The request minus the profile's dropped fields; a new dict, the input is never mutated."""
    profile = target.provider.profile
    body = {k: v for k, v in request.items() if k not in profile.drop_fields}
    tool_fields = set(profile.drop_tool_fields)
    if profile.strip_cache_control:
        tool_fields.add("cache_control")
        body.pop("cache_control", None)
        if "system" in body:
            body["system"] = _strip_cache_control(body["system"])
        if isinstance(body.get("messages"), list):
            body["messages"] = [
                {**m, "content": _strip_cache_control(m["content"])} if isinstance(m, dict) and "content" in m else m
                for m in body["messages"]
            ]
    if tool_fields and isinstance(body.get("tools"), list):
        body["tools"] = [
            {k: v for k, v in t.items() if k not in tool_fields} if isinstance(t, dict) else t for t in body["tools"]
        ]
    if isinstance(body.get("messages"), list):
        body["messages"] = _without_proxy_thinking(body["messages"])
        if profile.system_messages == "to_system":
            _fold_system_messages(body)
    return body


def _is_proxy_thinking(block: object) -> bool:
    return isinstance(block, dict) and block.get("type") == "thinking" and is_proxy_signature(block.get("signature"))


def _without_proxy_thinking(messages: list[Any]) -> list[Any]:
    """Drop thinking blocks an OpenAI-format upstream produced (our `ccproxy.v1.` signatures): an
    Anthropic-format upstream rejects a signature it did not issue, e.g. after a route change mid-session.
    Returns the same list when there is nothing to drop (the common case costs one scan)."""
    if not any(
        isinstance(m, dict) and isinstance(m.get("content"), list) and any(map(_is_proxy_thinking, m["content"]))
        for m in messages
    ):
        return messages
    cleaned: list[Any] = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list) and any(map(_is_proxy_thinking, content)):
            message = {**message, "content": [b for b in content if not _is_proxy_thinking(b)]}
        cleaned.append(message)
    return cleaned


def _fold_system_messages(body: dict[str, Any]) -> None:
    """Move `role: "system"` turns into the top-level `system` (appended, order kept), in place on `body`."""
    messages: list[Any] = body["messages"]
    folded = [m for m in messages if isinstance(m, dict) and m.get("role") == "system"]
    if not folded:
        return
    body["messages"] = [m for m in messages if not (isinstance(m, dict) and m.get("role") == "system")]
    system = body.get("system")
    blocks: list[Any] = [{"type": "text", "text": system}] if isinstance(system, str) else list(system or [])
    for message in folded:
        content = message.get("content")
        if isinstance(content, str):
            blocks.append({"type": "text", "text": content})
        elif isinstance(content, list):
            blocks.extend(b for b in content if isinstance(b, dict) and b.get("type") == "text")
    body["system"] = blocks


def build_request(
    target: ResolvedModel, request: Mapping[str, Any], client_headers: Mapping[str, str]
) -> UpstreamRequest:
    """POST /v1/messages: the rewritten request as JSON, allowed headers only, never a credential."""
    body = prepare_body(target, request)
    return UpstreamRequest(
        MESSAGES_PATH, forward_headers(target, client_headers), orjson.dumps(body), body.get("stream") is True
    )


def build_count_tokens_request(
    target: ResolvedModel, request: Mapping[str, Any], client_headers: Mapping[str, str]
) -> UpstreamRequest:
    """POST /v1/messages/count_tokens: as `build_request`, minus generation controls the endpoint rejects."""
    body = prepare_body(target, request)
    for name in _NOT_FOR_COUNTING:
        body.pop(name, None)
    return UpstreamRequest(COUNT_TOKENS_PATH, forward_headers(target, client_headers), orjson.dumps(body), False)


def translate_response(body: dict[str, Any], ctx: TranslationContext) -> dict[str, Any]:
    """The upstream's message with `model` set to what the client should see; nothing else changes."""
    if body.get("model") == ctx.response_model:
        return body
    return {**body, "model": ctx.response_model}


class UnreadableEvent(ValueError):
    """An upstream event whose data is not JSON. Raised by `AnthropicStreamRelay.feed`, which sets
    `valid_before` (events of the chunk completed before it) and `out` (what the chunk would have
    given) so the caller can still send the whole events that came before it."""

    def __init__(self, event: SSEEvent) -> None:
        super().__init__("upstream sent an event that is not JSON")
        self.event = event
        self.valid_before = 0
        self.out = b""


class AnthropicStreamRelay:
    """Upstream SSE bytes in, client bytes out, untouched except `message_start`'s model.

    Until the first event that is not a `ping` (normally `message_start`; `error` when the upstream
    failed at once) bytes are held; then they are released starting at that event: stray pings
    before it are dropped (Anthropic clients expect `message_start` first), so the first event out is
    the one `first_event_type` names and the server's first-chunk gate can act on it. If
    `message_start` names another model it is re-encoded with `ctx.response_model`; otherwise not one
    byte changes. Afterwards each chunk is only decoded to
    track `message_stop` and `error` events, to enforce the event size cap and to check each event's
    data is JSON (`UnreadableEvent` otherwise).
    """

    __slots__ = (
        "_decoder",
        "_drop_lf",
        "_held",
        "_limit",
        "_model",
        "error",
        "event_count",
        "first_event_type",
        "saw_message_stop",
    )

    def __init__(self, ctx: TranslationContext, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._decoder = SSEDecoder(max_event_bytes)
        self._limit = max_event_bytes
        self._model = ctx.response_model
        self._held: bytearray | None = bytearray()  # None once the first event is out
        self._drop_lf = False  # a re-encoded event replaced a CR-ended one: its LF may open the next chunk
        self.first_event_type: str | None = None  # the first non-ping event's type
        self.saw_message_stop = False
        self.error: dict[str, Any] | None = None  # the inner `error` object of an `error` event
        self.event_count = 0

    @property
    def complete(self) -> bool:
        return self.saw_message_stop

    def feed(self, chunk: bytes) -> bytes:
        """Bytes to send to the client for this upstream chunk (b"" while the first event is incomplete)."""
        if self._held is None:
            out = chunk
            if self._drop_lf:
                self._drop_lf = False
                if chunk[:1] == b"\n":
                    out = chunk[1:]
            events = self._decoder.feed(chunk)
            try:
                for event in events:
                    self._track(event)
            except UnreadableEvent as exc:
                exc.valid_before = events.index(exc.event)  # rare path: the first equal event is this one
                exc.out = out
                raise
            return out
        return self._feed_gate(chunk)

    def finish(self) -> bool:
        """True when the stream ended properly: `message_stop` seen, no partial event left over."""
        pending = self._decoder.pending
        self._decoder.finish()
        return self.saw_message_stop and not pending

    def _feed_gate(self, chunk: bytes) -> bytes:
        held = self._held
        assert held is not None
        base = len(held)
        held += chunk
        events, ends = self._decoder.feed_with_ends(chunk)
        if len(held) > self._limit:
            raise SSEEventTooLarge(self._limit)  # the held prefix obeys the same cap as one event
        start = 0  # where the first significant event begins in `held`
        for i, event in enumerate(events):
            kind = _event_type(event)
            if kind == "ping" and self.first_event_type is None:
                start = base + ends[i]
                continue
            if self.first_event_type is None:
                self.first_event_type = kind
                first_end = base + ends[i]
                raw = bytes(held[start:first_end])
                head = self._patched_start(event, raw) if kind == "message_start" else raw
                # The CRLF of the replaced event's blank line may be split across chunks.
                self._drop_lf = head is not raw and first_end == len(held) and raw.endswith(b"\r")
                self._held = None
                out = head + bytes(held[first_end:])
                try:
                    for rest in events[i:]:
                        self._track(rest)
                except UnreadableEvent as exc:
                    exc.valid_before = events.index(exc.event, i) - i  # counted from the first event out
                    exc.out = out
                    raise
                return out
        if start:
            del held[:start]
        return b""

    def _patched_start(self, event: SSEEvent, raw: bytes) -> bytes:
        try:
            payload = orjson.loads(event.data)
            message = payload["message"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return raw  # not ours to repair: the client sees what the upstream sent
        if not isinstance(message, dict) or message.get("model") == self._model:
            return raw
        patched = {**payload, "message": {**message, "model": self._model}}
        return encode(SSEEvent(orjson.dumps(patched).decode(), event.event or "message_start"))

    def _track(self, event: SSEEvent) -> None:
        """Note `message_stop` and `error`; every event's data must be JSON until `message_stop`
        (reliability U15: ~0.6 us per event). Junk after the end (some compatible upstreams add
        `data: [DONE]`) is relayed as before."""
        self.event_count += 1
        try:
            payload = orjson.loads(event.data)
        except orjson.JSONDecodeError:
            if self.saw_message_stop:
                return
            raise UnreadableEvent(event) from None
        kind = event.event
        if kind is None or kind == "message":  # a data-only upstream: the type is in the JSON
            kind = payload.get("type") if isinstance(payload, dict) else None
        if kind == "message_stop":
            self.saw_message_stop = True
        elif kind == "error":
            self.error = _error_object(payload)


def _event_type(event: SSEEvent) -> str:
    """The SSE event name (Anthropic names equal the JSON `type`); the JSON `type` when unnamed."""
    if event.event is not None and event.event != "message":
        return event.event
    try:
        payload = orjson.loads(event.data)
    except orjson.JSONDecodeError:
        return "message"
    kind = payload.get("type") if isinstance(payload, dict) else None
    return kind if isinstance(kind, str) else "message"


def _error_object(payload: Any) -> dict[str, Any]:
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        return error
    return {"type": "api_error", "message": "upstream sent an unreadable error event"}
