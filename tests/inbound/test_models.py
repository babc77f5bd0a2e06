"""GET /v1/models in each SDK's shape, decided by the headers each sends (docs/openai-clients.md)."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.server.conftest import CLIENT_KEY, Stack


def test_openai_sdk_gets_openai_shape(stack: Stack) -> None:
    sdk = openai.OpenAI(base_url=stack.url + "/v1", api_key=CLIENT_KEY, max_retries=0)
    models = {m.id: m for m in sdk.models.list()}
    assert {"sonnet", "gpt", "backup"} <= set(models)
    assert models["gpt"].object == "model" and models["gpt"].owned_by == "openai"
    assert sdk.models.retrieve("sonnet").owned_by == "anthropic"
    with pytest.raises(openai.NotFoundError) as info:
        sdk.models.retrieve("nokey")  # configured, but its key is unset: not servable
    assert set(info.value.body) == {"message", "type", "param", "code"}  # type: ignore[arg-type]


def test_anthropic_sdk_gets_anthropic_shape(stack: Stack) -> None:
    page = stack.anthropic().models.list()
    ids = [m.id for m in page.data]
    assert "sonnet" in ids and page.data[0].type == "model"
    assert stack.anthropic().models.retrieve("gpt").display_name == "gpt"


@pytest.mark.parametrize(
    ("headers", "openai_shape"),
    [
        ({"authorization": f"Bearer {CLIENT_KEY}"}, True),
        ({"authorization": f"Bearer {CLIENT_KEY}", "anthropic-version": "2023-06-01"}, False),  # Claude Code's
        ({"x-api-key": CLIENT_KEY}, False),
        ({"user-agent": "OpenAI/Python 2.0"}, True),
        ({}, False),
    ],
)
def test_the_header_rule(stack: Stack, headers: dict[str, str], openai_shape: bool) -> None:
    body = httpx.get(stack.url + "/v1/models", headers=headers).json()
    assert (body.get("object") == "list") is openai_shape
    assert ("has_more" in body) is not openai_shape
