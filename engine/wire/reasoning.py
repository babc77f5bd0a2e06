"""Upstream reasoning <-> Anthropic `thinking` blocks, carried through the client with no server state.

Round trip. OpenAI-dialect upstreams return reasoning as plain text (`reasoning_content`, `reasoning`)
and, on OpenRouter, as a `reasoning_details` list (text, summaries, encrypted data, the Anthropic
signature of Claude models). We answer with a `thinking` block whose `thinking` is the reasoning text and
whose `signature` is ours. Claude Code sends thinking blocks back verbatim, so on the next request the
assistant message gets its reasoning restored (`reasoning_content` for DeepSeek, `reasoning_details` for
OpenRouter): DeepSeek's thinking mode rejects a tool conversation without it.

Signature format (version 1):

    "ccproxy.v1." + base64url_without_padding(compact_json(payload))

`payload` is a JSON object: `{}` when the reasoning text is everything there is, `{"d": [...]}` with
the upstream's `reasoning_details` list (OpenRouter), `{"r": {...}}` with an OpenAI Responses
`reasoning` item minus its summary (`id`, `encrypted_content`: store false keeps nothing at OpenAI, so
the encrypted item itself goes back as an input item next turn), or `{"t": "..."}` with a Gemini
`thoughtSignature` (`"k": "text"` when it came on a text part, not a thought: engine.wire.gemini_stream).
Keys are sorted, so a streamed answer and the same answer in one piece sign identically. The text itself
is not repeated (it is the block's `thinking`), except as `"x"` when the block goes out empty
(`thinking.display: "omitted"`, engine/emulate/report.py): the text then rides in the signature, as
Anthropic's own encrypted one does. The prefix cannot occur in a real Anthropic signature (base64 has no
`.`), so `is_proxy_signature` tells ours apart: an Anthropic-format upstream must drop such blocks, and
an OpenAI-dialect upstream drops every thinking block that is not ours. A signature that does not
decode is treated as foreign.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

SIGNATURE_PREFIX = "ccproxy.v1."

# Anthropic and OpenAI effort names, weakest first, for clipping to what an upstream accepts.
EFFORT_ORDER: tuple[str, ...] = ("none", "minimal", "low", "medium", "high", "xhigh", "max")


def make_signature(
    details: list[Any] | None, item: dict[str, Any] | None = None, extra: Mapping[str, Any] | None = None
) -> str:
    """`extra`: further payload keys of a wire of its own (Gemini's "t" and "k")."""
    payload: dict[str, Any] = {"d": details} if details else {}
    if item:
        payload["r"] = item
    if extra:
        payload.update(extra)
    raw = base64.urlsafe_b64encode(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).rstrip(b"=")
    return SIGNATURE_PREFIX + raw.decode("ascii")


def sign_text(signature: str, text: str) -> str:
    """Our signature with the reasoning text inside it (`"x"`), for a thinking block sent empty
    (`thinking.display: "omitted"`); any other signature, or no text, is returned as it is."""
    payload = _payload(signature) if text else None
    if payload is None:
        return signature
    payload["x"] = text
    raw = base64.urlsafe_b64encode(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).rstrip(b"=")
    return SIGNATURE_PREFIX + raw.decode("ascii")


def _payload(signature: object) -> dict[str, Any] | None:
    if not isinstance(signature, str) or not signature.startswith(SIGNATURE_PREFIX):
        return None
    encoded = signature[len(SIGNATURE_PREFIX) :]
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (ValueError, binascii.Error):
        return None
    return payload if isinstance(payload, dict) else None


def is_proxy_signature(signature: object) -> bool:
    return isinstance(signature, str) and signature.startswith(SIGNATURE_PREFIX)


@dataclass(frozen=True, slots=True)
class ProxyReasoning:
    """What one of our thinking blocks carries back."""

    text: str
    details: list[Any] | None
    item: dict[str, Any] | None = None  # an OpenAI Responses reasoning item (no summary)
    payload: Mapping[str, Any] = field(default_factory=dict)  # the whole decoded payload (Gemini's "t")


def read_thinking_block(block: dict[str, Any]) -> ProxyReasoning | None:
    """Our thinking block -> its reasoning; None for Anthropic-signed, foreign or corrupt ones."""
    payload = _payload(block.get("signature"))
    if payload is None:
        return None
    details = payload.get("d")
    item = payload.get("r")
    text = payload.get("x") if isinstance(payload.get("x"), str) else block.get("thinking")
    return ProxyReasoning(
        text=text if isinstance(text, str) else "",
        details=details if isinstance(details, list) and details else None,
        item=item if isinstance(item, dict) and item else None,
        payload=payload,
    )


def clip_effort(effort: str, accepted: tuple[str, ...]) -> str | None:
    """The strongest accepted level not above `effort`; the weakest accepted one when all are above."""
    if not accepted:
        return None
    if effort in accepted:
        return effort
    try:
        rank = EFFORT_ORDER.index(effort)
    except ValueError:
        return None
    best: str | None = None
    for level in accepted:
        if level in EFFORT_ORDER and EFFORT_ORDER.index(level) <= rank:
            best = level
    return best if best is not None else accepted[0]


def budget_to_effort(budget: int) -> str:
    """A manual thinking budget as an effort bucket (for upstreams that only take an effort)."""
    if budget < 4096:
        return "low"
    if budget < 16384:
        return "medium"
    return "high"


def details_text(details: list[Any]) -> str:
    """Readable reasoning from OpenRouter `reasoning_details` (text and summaries, in order)."""
    parts: list[str] = []
    for item in details:
        if isinstance(item, dict):
            value = item.get("text") if item.get("type") == "reasoning.text" else item.get("summary")
            if isinstance(value, str):
                parts.append(value)
    return "".join(parts)


def merge_detail_fragments(into: list[dict[str, Any]], fragments: list[Any]) -> None:
    """Fold streamed `reasoning_details` fragments into complete entries.

    OpenRouter streams one detail as many fragments with the same `index` (and `type`); text-like
    fields concatenate, other fields take the latest non-null value.
    """
    for frag in fragments:
        if not isinstance(frag, dict):
            continue
        last = into[-1] if into else None
        same = (
            last is not None and last.get("type") == frag.get("type") and last.get("index", 0) == frag.get("index", 0)
        )
        if not same or last is None:
            into.append({k: v for k, v in frag.items() if v is not None})
            continue
        for key, value in frag.items():
            if value is None:
                continue
            if key in ("text", "summary", "data") and isinstance(value, str):
                previous = last.get(key)
                last[key] = previous + value if isinstance(previous, str) else value
            else:
                last[key] = value


_OPEN = "<think>"
_CLOSE = "</think>"


def thinking_mode(request: Mapping[str, Any]) -> Any:
    """Anthropic `thinking.type`: "enabled", "adaptive", "disabled", or None when absent."""
    return _dict(request.get("thinking")).get("type")


def requested_effort(request: Mapping[str, Any], efforts: tuple[str, ...]) -> str | None:
    """The effort level to send, clipped to `efforts`: `output_config.effort`, else a manual budget's
    bucket. Only with thinking on: an effort 400s on non-reasoning models, and Claude Code's fallback
    after such a 400 drops `thinking`, not `output_config`. Thinking disabled asks for the lowest level
    the model accepts (`none`/`minimal` where listed, else `low`): a reasoning model left at its default
    may spend a small max_tokens (the auto-mode classifier's 64) on thought."""
    thinking = _dict(request.get("thinking"))
    mode = thinking.get("type")
    if mode == "disabled":
        return efforts[0] if efforts else None
    if mode not in _THINKING_ON:
        return None
    effort = _dict(request.get("output_config")).get("effort")
    budget = thinking.get("budget_tokens")
    if not isinstance(effort, str):
        effort = budget_to_effort(budget) if mode == "enabled" and isinstance(budget, int) else None
    return clip_effort(effort, efforts) if effort is not None else None


def reasoning_fields(request: Mapping[str, Any], kind: str, efforts: tuple[str, ...]) -> dict[str, Any]:
    """The upstream's reasoning knobs for Anthropic `thinking` + `output_config.effort`, per profile kind:
    `reasoning_effort` (clipped effort), `thinking` (DeepSeek's toggle + effort), `reasoning`
    (OpenRouter's object: effort, budget or enabled), `none`."""
    thinking = _dict(request.get("thinking"))
    mode = thinking.get("type")
    budget = thinking.get("budget_tokens")
    level = requested_effort(request, efforts)
    if kind == "reasoning_effort":
        return {"reasoning_effort": level} if level else {}
    if kind == "thinking":
        out: dict[str, Any] = {}
        if mode in _THINKING_ON:
            out["thinking"] = {"type": "enabled"}
        elif mode == "disabled":
            out["thinking"] = {"type": "disabled"}
        if level and mode != "disabled":  # the toggle says it all
            out["reasoning_effort"] = level
        return out
    if kind == "reasoning":
        explicit = isinstance(_dict(request.get("output_config")).get("effort"), str)
        if mode == "enabled" and isinstance(budget, int) and not explicit:
            return {"reasoning": {"max_tokens": budget}}  # OpenRouter takes the budget itself
        if level:
            return {"reasoning": {"effort": level}}
        if mode in _THINKING_ON:
            return {"reasoning": {"enabled": True}}
    return {}


_THINKING_ON = ("enabled", "adaptive")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class ThinkTagSplitter:
    """Splits a leading `<think>...</think>` off model content, incrementally.

    Only a think section at the very start (after optional whitespace) counts; whitespace right after
    `</think>` is dropped. `feed` returns `(kind, text)` pieces, kind "thinking" or "text"; a partial
    tag at a chunk end is held back until the next chunk decides it. The non-streaming translation
    feeds the whole content at once, so both paths split identically.
    """

    __slots__ = ("_buf", "_state")

    def __init__(self) -> None:
        self._state = 0  # 0: undecided start, 1: inside think, 2: after think (skip ws), 3: plain text
        self._buf = ""

    def feed(self, text: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        state = self._state
        if state == 3:
            if text:
                out.append(("text", text))
            return out
        buf = self._buf + text
        if state == 0:
            head = buf.lstrip()
            if head.startswith(_OPEN):
                state, buf = 1, head[len(_OPEN) :]
            elif _OPEN.startswith(head):
                self._buf = buf  # still possibly "<thi..." (or only whitespace so far)
                return out
            else:
                self._state, self._buf = 3, ""
                if buf:
                    out.append(("text", buf))
                return out
        if state == 1:
            end = buf.find(_CLOSE)
            if end < 0:
                keep = _partial_suffix(buf, _CLOSE)
                if len(buf) > keep:
                    out.append(("thinking", buf[: len(buf) - keep]))
                self._state, self._buf = 1, buf[len(buf) - keep :]
                return out
            if end:
                out.append(("thinking", buf[:end]))
            state, buf = 2, buf[end + len(_CLOSE) :]
        # state 2: drop whitespace after </think>
        rest = buf.lstrip()
        if rest:
            self._state, self._buf = 3, ""
            out.append(("text", rest))
        else:
            self._state, self._buf = 2, ""
        return out

    def finish(self) -> list[tuple[str, str]]:
        """End of content: text held back is released as what it turned out to be."""
        buf, state = self._buf, self._state
        self._buf = ""
        if not buf:
            return []
        if state == 1:
            return [("thinking", buf)]
        if state == 0:
            return [("text", buf)]
        return []


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0
