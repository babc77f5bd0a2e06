"""`explain` on OpenAI-format requests (normalised first, as `serve` does), and the native request an
OpenAI-format target gets from a Chat Completions client: the rewrite carried back, nothing else."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from cc_proxy.engine.decide import decide
from cc_proxy.engine.inbound.chat_request import normalise_chat
from cc_proxy.engine.inbound.native import native_body
from cc_proxy.engine.tokens import TokenEstimator
from cc_proxy.server.commands.explain import build_report, render_text, request_format
from tests.engine.test_decide_cases import CASES_DIR, load_snapshot

SNAPSHOT = CASES_DIR / "haiku-background-openai-target"  # haiku -> background route -> deepseek (8k, temp 0.3)
CHAT = {
    "model": "claude-haiku-4-5",
    "messages": [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "hi"}],
    "max_completion_tokens": 100000,
    "seed": 1,
}
FIELDS = ("max_tokens", "max_completion_tokens")


def estimator() -> TokenEstimator:
    return TokenEstimator(lambda text: len(text.split()))


def test_explain_decides_an_openai_chat_request_on_its_normalised_form() -> None:
    report = build_report(load_snapshot(SNAPSHOT), CHAT, {}, estimator(), "openai-chat")
    assert report["inbound"] == {"format": "openai-chat", "dropped": ["seed"], "native": True}
    assert report["rule"] == "background" and report["target"]["alias"] == "deepseek"
    assert report["request"]["system"] == [{"type": "text", "text": "Be brief."}]
    text = render_text(report)
    assert "inbound   openai-chat: normalised to the engine's Anthropic form, then decided" in text
    assert "dropped   seed (no Anthropic equivalent)" in text
    assert "upstream   the client's own request, with what the rules changed carried back" in text


def test_explain_reports_a_request_the_front_door_refuses() -> None:
    body = {"model": "claude-haiku-4-5", "input": "again", "previous_response_id": "resp_1"}
    report = build_report(load_snapshot(SNAPSHOT), body, {}, estimator(), "openai-responses")
    assert report["error"]["status"] == 400 and "previous_response_id" in report["error"]["message"]
    assert "refused: the proxy answers 400 invalid_request_error: previous_response_id" in render_text(report)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (CHAT, "openai-chat"),
        ({"model": "m", "input": "hi"}, "openai-responses"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}, "anthropic"),
        ({"path": "/v1/chat/completions", "body": {"model": "m", "messages": []}}, "openai-chat"),
        ({"path": "/proxy/v1/responses", "body": {"model": "m", "messages": []}}, "openai-responses"),
    ],
)
def test_request_format_detection(data: dict[str, Any], expected: str) -> None:
    body = data.get("body", data)
    assert request_format(data, body) == expected


def _native(client: dict[str, Any]) -> tuple[bytes | None, bytes]:
    snapshot = load_snapshot(SNAPSHOT)
    raw = orjson.dumps(client)
    normalised = normalise_chat(client).request
    decision = decide(snapshot, normalised, {}, estimator())
    body = native_body(
        raw, client, normalised, decision.request, decision.target, max_tokens_fields=FIELDS, stop_field="stop"
    )
    return body, raw


def test_the_rewrite_is_carried_back_onto_the_clients_own_request() -> None:
    body, _ = _native(CHAT)
    assert body is not None
    # model -> the upstream name, the model's params (temperature), max tokens clamped to its 8k limit,
    # in the client's own field; the developer message and `seed` stay exactly as the client sent them
    assert orjson.loads(body) == {**CHAT, "model": "deepseek-chat", "max_completion_tokens": 8000, "temperature": 0.3}


def test_nothing_changed_sends_the_clients_bytes() -> None:
    client = {"model": "deepseek,deepseek-chat", "messages": [{"role": "user", "content": "hi"}]}
    snapshot = load_snapshot(SNAPSHOT)
    raw = b'{"model": "deepseek,deepseek-chat",\n "messages": [{"role": "user", "content": "hi"}]}'
    normalised = normalise_chat(client).request
    decision = decide(snapshot, normalised, {}, estimator())
    rewritten = dict(normalised)  # as if no rule, param or upstream name changed anything
    body = native_body(raw, client, normalised, rewritten, decision.target, max_tokens_fields=FIELDS, stop_field="stop")
    assert body is raw


def test_a_rewrite_of_the_conversation_needs_the_translation() -> None:
    client = {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "hi"}]}
    snapshot = load_snapshot(SNAPSHOT)
    normalised = normalise_chat(client).request
    decision = decide(snapshot, normalised, {}, estimator())
    rewritten = {**decision.request, "messages": [{"role": "user", "content": "changed by a rule"}]}
    raw = orjson.dumps(client)
    assert (
        native_body(raw, client, normalised, rewritten, decision.target, max_tokens_fields=FIELDS, stop_field="stop")
        is None
    )


def test_only_the_model_changed_is_a_splice_of_the_clients_bytes() -> None:
    client = {"messages": [{"role": "user", "content": 'say "model":"sonnet" back'}], "model": "sonnet", "seed": 1}
    raw = b'{"messages":[{"role":"user","content":"say \\"model\\":\\"sonnet\\" back"}], "model":"sonnet","seed":1}'
    assert orjson.loads(raw) == client
    normalised = normalise_chat(client).request
    decision = decide(load_snapshot(SNAPSHOT), {**normalised, "model": "deepseek,deepseek-chat"}, {}, estimator())
    rewritten = {**normalised, "model": "deepseek-chat"}
    body = native_body(raw, client, normalised, rewritten, decision.target, max_tokens_fields=FIELDS, stop_field="stop")
    assert body == raw.replace(b'"model":"sonnet",', b'"model":"deepseek-chat",')  # the text's copy untouched
