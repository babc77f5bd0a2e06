"""Anthropic pass-through: golden cases (tests/cases/anthropic) and relay properties."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cc_proxy.engine.profiles import BUILTIN_PROFILES, Profile
from cc_proxy.engine.snapshot import ApiKey, ResolvedModel, ResolvedProvider
from cc_proxy.engine.wire.anthropic import (
    AnthropicStreamRelay,
    build_count_tokens_request,
    build_request,
    translate_response,
)
from cc_proxy.engine.wire.sse import SSEDecoder, SSEEventTooLarge
from cc_proxy.engine.wire.types import TranslationContext
from tests.fakes import anthropic_stream as A

CASES = Path(__file__).parent.parent / "cases" / "anthropic"
CASE_DIRS = sorted(p for p in CASES.iterdir() if p.is_dir())


def _profile(spec: str | dict[str, Any]) -> Profile:
    if isinstance(spec, str):
        return BUILTIN_PROFILES[spec]
    overrides: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in spec.items() if k != "extends"}
    return replace(BUILTIN_PROFILES[spec["extends"]], name="inline", **overrides)


def _target(profile: Profile = BUILTIN_PROFILES["anthropic"]) -> ResolvedModel:
    provider = ResolvedProvider(
        "up", "anthropic", "http://127.0.0.1:1", ApiKey("literal", "sk-ant-upstream-secret"), {}, profile
    )
    return ResolvedModel("sonnet", provider, "claude-sonnet-4-5-20250929")


def _ctx(response_model: str) -> TranslationContext:
    return TranslationContext("claude-x", _target(), response_model, lambda prefix: prefix + "1")


def _read(case: Path, name: str) -> Any:
    return json.loads((case / name).read_text())


def _relay_all(ctx: TranslationContext, chunks: list[bytes]) -> tuple[bytes, AnthropicStreamRelay, bool]:
    relay = AnthropicStreamRelay(ctx)
    out = b"".join(relay.feed(c) for c in chunks)
    return out, relay, relay.finish()


@pytest.mark.parametrize("case", CASE_DIRS, ids=[p.name for p in CASE_DIRS])
def test_golden(case: Path) -> None:
    if (case / "case.json").exists():
        spec = _read(case, "case.json")
        before = copy.deepcopy(spec["request"])
        build = build_count_tokens_request if spec.get("kind") == "count_tokens" else build_request
        got = build(_target(_profile(spec["profile"])), spec["request"], spec["headers"])
        expected = _read(case, "expected.json")
        assert got.path == expected["path"]
        assert got.stream == expected["stream"]
        assert got.headers == expected["headers"]
        assert orjson.loads(got.body) == expected["body"]
        assert spec["request"] == before, "the input request must not be mutated"
    elif (case / "upstream.json").exists():
        ctx = _ctx(_read(case, "ctx.json")["response_model"])
        assert translate_response(_read(case, "upstream.json"), ctx) == _read(case, "expected.json")
    else:
        ctx = _ctx(_read(case, "ctx.json")["response_model"])
        raw = (case / "upstream.sse").read_bytes()
        expected = (case / "expected.sse").read_bytes()
        outcome = _read(case, "outcome.json")
        for chunks in (
            [raw],
            [raw[i : i + 1] for i in range(len(raw))],
            [raw[i : i + 7] for i in range(0, len(raw), 7)],
        ):
            out, relay, finished_ok = _relay_all(ctx, chunks)
            assert out == expected
            assert relay.first_event_type == outcome["first_event_type"]
            assert relay.saw_message_stop == relay.complete == outcome["saw_message_stop"]
            assert relay.error == outcome["error"]
            assert finished_ok == outcome["finished_ok"]


def test_credentials_and_hop_by_hop_never_forwarded_even_if_a_profile_allows_everything() -> None:
    target = _target(replace(BUILTIN_PROFILES["anthropic"], forward_headers=("*",)))
    client = {
        "X-Api-Key": "sk-ant-client",
        "Authorization": "Bearer x",
        "Proxy-Authorization": "Basic y",
        "Cookie": "a=b",
        "Host": "h",
        "Content-Length": "5",
        "Connection": "keep-alive",
        "Keep-Alive": "timeout=5",
        "Transfer-Encoding": "chunked",
        "Upgrade": "h2c",
        "Accept-Encoding": "gzip",
        "Content-Type": "text/plain",
        "X-Custom": "kept",
    }
    got = build_request(target, {"model": "m", "messages": []}, client)
    assert got.headers == {"x-custom": "kept", "content-type": "application/json"}


def test_beta_allow_none_is_verbatim_and_empty_drops() -> None:
    beta = {"anthropic-beta": "a-1, b-2"}
    verbatim = build_request(_target(), {"model": "m"}, beta)
    assert verbatim.headers["anthropic-beta"] == "a-1, b-2"
    dropped = build_request(_target(replace(BUILTIN_PROFILES["anthropic"], beta_allow=())), {"model": "m"}, beta)
    assert "anthropic-beta" not in dropped.headers


def test_body_is_the_request_when_the_profile_drops_nothing() -> None:
    request = {"model": "m", "messages": [{"role": "user", "content": "hé"}], "future_field": {"x": 1}}
    got = build_request(_target(), request, {})
    assert got.body == orjson.dumps(request)
    assert got.stream is False


def test_translate_response_same_model_is_the_same_object() -> None:
    body = A.message(A.text("x"))
    assert translate_response(body, _ctx(body["model"])) is body


def _stream_bytes() -> bytes:
    return b"".join(A.message_stream(A.message(A.text("Hello world, again"), A.tool_use("Read", {"a": 1}))))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=5000), max_size=10), st.booleans(), st.booleans())
def test_any_rechunking_gives_the_same_bytes(cuts: list[int], patch: bool, crlf: bool) -> None:
    raw = _stream_bytes()
    if crlf:
        raw = raw.replace(b"\n", b"\r\n")
    ctx = _ctx("claude-opus-5-5" if patch else A.DEFAULT_MODEL)
    points = sorted({c % (len(raw) + 1) for c in cuts})
    chunks = [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True)]
    whole, _, ok_whole = _relay_all(ctx, [raw])
    split, _, ok_split = _relay_all(ctx, chunks)
    assert split == whole
    assert ok_whole and ok_split
    if not patch:
        assert whole == raw
    events = SSEDecoder().feed(whole)
    assert orjson.loads(events[0].data)["message"]["model"] == ctx.response_model
    assert events[1:] == SSEDecoder().feed(raw)[1:]


def test_data_only_upstream_events_are_tracked_by_json_type() -> None:
    events = A.message_events(A.message(A.text("hi")))
    raw = b"".join(b"data: " + orjson.dumps(e) + b"\n\n" for e in events)
    out, relay, ok = _relay_all(_ctx("other"), [raw])
    assert ok and relay.first_event_type == "message_start"
    first = SSEDecoder().feed(out)[0]
    assert first.event == "message_start" and orjson.loads(first.data)["message"]["model"] == "other"


def test_relay_enforces_the_event_cap() -> None:
    relay = AnthropicStreamRelay(_ctx("m"), max_event_bytes=1024)
    relay.feed(b"".join(A.message_stream(A.message(A.text("x"))))[:-40])
    with pytest.raises(SSEEventTooLarge):
        relay.feed(b"event: content_block_delta\ndata: " + b"x" * 2000)


def test_relay_caps_what_it_holds_before_the_first_event() -> None:
    relay = AnthropicStreamRelay(_ctx("m"), max_event_bytes=1024)
    with pytest.raises(SSEEventTooLarge):
        for _ in range(100):
            relay.feed(b": comment padding padding padding\n")


def test_nothing_is_released_before_the_first_event_completes() -> None:
    raw = _stream_bytes()
    relay = AnthropicStreamRelay(_ctx("claude-opus-5-5"))
    first_end = raw.index(b"\n\n") + 2
    assert relay.feed(raw[: first_end - 1]) == b""
    assert relay.first_event_type is None
    released = relay.feed(raw[first_end - 1 :])
    assert relay.first_event_type == "message_start"
    first = SSEDecoder().feed(released)[0]
    assert first.event == "message_start"
    assert orjson.loads(first.data)["message"]["model"] == "claude-opus-5-5"
