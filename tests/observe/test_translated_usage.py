"""Usage the Anthropic form cannot carry, through the real server from each translated wire: the
upstream's reasoning tokens (OpenAI Chat `completion_tokens_details`, Responses
`output_tokens_details`, Gemini `thoughtsTokenCount`) reach usage rows, /metrics and `cc-proxy usage`;
an answer without any usage is counted by the proxy's estimate and flagged as such."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import gemini as G
from tests.fakes import openai_responses as R
from tests.fakes import openai_stream as O
from tests.fakes.server import FakeUpstream
from tests.observe.conftest import observe_config, scrape, total
from tests.observe.test_request_log import ASK
from tests.observe.test_usage_history import database, usage_cli, wait_rows
from tests.server.conftest import RULES, Stack, start_proxy, write_stack_files

CHAT_USAGE = {
    "prompt_tokens": 700,
    "completion_tokens": 90,
    "total_tokens": 790,
    "prompt_tokens_details": {"cached_tokens": 200},
    "completion_tokens_details": {"reasoning_tokens": 30},
}
GEMINI_USAGE = {"promptTokenCount": 100, "candidatesTokenCount": 20, "thoughtsTokenCount": 15, "totalTokenCount": 135}
ANSWER_TEXT = "The answer is forty-two, counted by the proxy itself when the upstream says nothing."


@pytest.fixture(scope="module")
def translated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base: Path = tmp_path_factory.mktemp("translated")
    with FakeUpstream() as fake:
        config = observe_config(fake.url)
        config["providers"]["gem"] = {"format": "gemini", "base_url": fake.url + "/gem", "api_key": "gem-key-1"}
        config["providers"]["resp"] = {
            "format": "openai-responses", "base_url": fake.url + "/resp/v1", "api_key": "resp-key-1",
        }  # fmt: skip
        config["models"]["gem"] = {"provider": "gem", "model": "gemini-test"}
        config["models"]["resp"] = {"provider": "resp", "model": "resp-test"}
        rules = copy.deepcopy(RULES)
        rules["routing"] += [
            {"id": "to-gem", "when": {"model": {"glob": "gem-*"}}, "model": "gem"},
            {"id": "to-resp", "when": {"model": {"glob": "resp-*"}}, "model": "resp"},
        ]
        config_path = write_stack_files(base, config, rules)
        stack = Stack(fake, start_proxy(config_path), config_path)
        try:
            yield stack
        finally:
            stack.proxy.stop()


def ask(stack: Stack, model: str, stream: bool) -> None:
    response = stack.post("/v1/messages", {**ASK, "model": model, "stream": stream}, {})
    assert response.status_code == 200, response.text


def test_reasoning_tokens_of_every_wire_are_counted(translated: Stack) -> None:
    fake = translated.fake
    fake.always("/v1/chat/completions", O.auto(content=["Hel", "lo"], usage=CHAT_USAGE))
    answer = R.response([R.message("msg_1", "hello")], usage_=R.usage(400, 60, cached=100, reasoning=25))
    fake.always("/resp/v1/responses", R.auto(answer))
    gem = G.auto(G.response(G.thought("Think."), G.text("hello"), usage=GEMINI_USAGE))
    fake.always("/gem/v1beta/models/gemini-test:generateContent", gem)
    fake.always("/gem/v1beta/models/gemini-test:streamGenerateContent", gem)
    before = scrape(translated)
    for model in ("gpt-4o", "resp-1", "gem-1"):
        for stream in (False, True):
            ask(translated, model, stream)
    after = scrape(translated)

    def reasoning(provider: str) -> float:
        metric = "cc_proxy_tokens_total"
        return total(after, metric, provider=provider, type="reasoning") - total(
            before, metric, provider=provider, type="reasoning"
        )

    assert (reasoning("openai"), reasoning("resp"), reasoning("gem")) == (2 * 30, 2 * 25, 2 * 15)
    rows = wait_rows(translated, 6)[-6:]
    got = {
        (r["provider"], r["stream"]): (r["output_tokens"], r["reasoning_tokens"], r["tokens_estimated"]) for r in rows
    }
    assert got == {
        ("openai", 0): (90, 30, 0), ("openai", 1): (90, 30, 0),
        ("resp", 0): (60, 25, 0), ("resp", 1): (60, 25, 0),
        ("gem", 0): (35, 15, 0), ("gem", 1): (35, 15, 0),  # output counts the thoughts, as Anthropic's
    }  # fmt: skip
    out = usage_cli("--db", str(database(translated)), "--by", "provider", "--json", "--since", "1h")
    assert out.returncode == 0, out.stderr
    by_provider = {row["key"]: row for row in json.loads(out.stdout)["rows"]}
    assert (by_provider["openai"]["reasoning_tokens"], by_provider["gem"]["reasoning_tokens"]) == (60, 30)
    table = usage_cli("--db", str(database(translated)), "--by", "provider", "--since", "1h").stdout
    assert [line.split()[7] for line in table.splitlines() if line.startswith("resp ")] == ["50"]


def _estimated_rows(stack: Stack, model: str) -> list[dict[str, Any]]:
    before = len(wait_rows(stack, 0))
    for stream in (False, True):
        ask(stack, model, stream)
    return wait_rows(stack, before + 2)[before:]


def test_an_answer_without_usage_is_estimated_and_flagged(translated: Stack) -> None:
    fake = translated.fake
    fake.always("/v1/chat/completions", O.auto(content=[ANSWER_TEXT[:30], ANSWER_TEXT[30:]], usage=None))
    gem = G.auto(G.response(G.text(ANSWER_TEXT), usage=None))
    fake.always("/gem/v1beta/models/gemini-test:generateContent", gem)
    fake.always("/gem/v1beta/models/gemini-test:streamGenerateContent", gem)
    for model in ("gpt-4o", "gem-1"):
        whole, streamed = _estimated_rows(translated, model)
        assert (whole["tokens_estimated"], streamed["tokens_estimated"]) == (1, 1), model
        assert whole["input_tokens"] > 0 and streamed["input_tokens"] > 0  # the request's own estimate
        assert whole["output_tokens"] > 5  # counted from the text the client was sent
        assert streamed["output_tokens"] == 0  # a stream's text is not kept: only its input is estimated
    # an upstream that reports usage is not flagged
    fake.always("/v1/chat/completions", O.auto(content=["ok"], usage=CHAT_USAGE))
    assert [r["tokens_estimated"] for r in _estimated_rows(translated, "gpt-4o")] == [0, 0]
