"""A Responses client to an `openai-responses` target: the client's own request goes up with only the
rewrite applied (no translation through the engine's form and back), and the answer, streamed or not,
comes back as the upstream sent it but for `model`."""

from __future__ import annotations

from typing import Any

import openai
import orjson
import pytest

from tests.conftest import ProxyFactory
from tests.fakes import openai_responses as R
from tests.fakes.server import FakeUpstream

PROVIDER_KEY = "sk-openai-responses-provider-0006"
BODY: dict[str, Any] = {
    "model": "codex",
    "instructions": "You are a coding agent.",
    "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "List files."}]}],
    "tools": [{"type": "function", "name": "exec_command", "parameters": {"type": "object"}, "strict": False}],
    "tool_choice": "auto",
    "parallel_tool_calls": True,
    "reasoning": {"summary": "auto"},
    "store": False,
    "include": ["reasoning.encrypted_content"],
    "prompt_cache_key": "session-1",
}


@pytest.mark.parametrize("stream", [False, True])
def test_the_clients_own_request_and_the_upstreams_answer(
    proxy_server: ProxyFactory, fake_upstream: FakeUpstream, stream: bool
) -> None:
    answer = R.response(
        [
            R.reasoning("rs_1", ["Listing."], encrypted="enc-opaque"),
            R.function_call("fc_1", "call_1", "exec_command", '{"cmd":"ls"}'),
        ]
    )
    fake_upstream.always("/v1/responses", R.auto(answer))
    config = {
        "providers": {
            "oai": {"format": "openai-responses", "base_url": f"{fake_upstream.url}/v1", "api_key": "${OAI_KEY}"}
        },
        "models": {"codex": {"provider": "oai", "model": "gpt-fake-5-codex", "max_tokens": "32k"}},
        "routes": {"default": "codex"},
    }
    proxy = proxy_server(config, env={"OAI_KEY": PROVIDER_KEY})
    sdk = openai.OpenAI(base_url=proxy.url + "/v1", api_key="unused", max_retries=0)
    if stream:
        with sdk.responses.stream(**BODY) as s:
            kinds = [event.type for event in s]
            got = s.get_final_response()
        assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    else:
        got = sdk.responses.create(**BODY)
    assert got.model == "codex"  # the name the client asked for, as for Anthropic clients
    assert [item.type for item in got.output] == ["reasoning", "function_call"]
    assert got.output[0].encrypted_content == "enc-opaque"  # type: ignore[union-attr]  # the upstream's own
    [sent] = fake_upstream.requests
    assert sent.path == "/v1/responses" and sent.headers["authorization"] == f"Bearer {PROVIDER_KEY}"
    expected = {**BODY, "model": "gpt-fake-5-codex", **({"stream": True} if stream else {})}
    assert sent.json == expected  # nothing translated, nothing added
    assert orjson.loads(sent.body) == sent.json
