"""C4 (issue 10): wrong types or shapes anywhere in a Messages request are a 400 naming the field, never
a 5xx, whichever wire the request is routed to (Anthropic pass-through, an Anthropic-compatible
profile, OpenAI translation) and for count_tokens.

One full request (every block type, tools, tool_choice, thinking, metadata, system blocks) is bent at
one or more JSON paths into a wrong-typed value, then sent through the real server. `CORPUS` is every
path x every wrong value x every route (deterministic: the figure in CATALOGUE.md counts its 5xx);
the hypothesis test adds random combinations of several bends and arbitrary JSON values.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes import anthropic_stream as A
from tests.fakes import openai_stream as O
from tests.fakes.server import FakeUpstream
from tests.reliability.conftest import Rel, log_entries, reliability_config, reliability_rules, start_recorded
from tests.server.conftest import CLIENT_KEY, write_stack_files

PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

BASE: dict[str, Any] = {
    "model": "claude-x",
    "max_tokens": 100,
    "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
    "metadata": {"user_id": "user-1"},
    "temperature": 0.5,
    "top_p": 0.9,
    "top_k": 5,
    "stop_sequences": ["STOP"],
    "thinking": {"type": "enabled", "budget_tokens": 1024},
    "tool_choice": {"type": "auto", "disable_parallel_tool_use": False},
    "tools": [
        {
            "name": "Read",
            "description": "read a file",
            "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
            "cache_control": {"type": "ephemeral"},
        }
    ],
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "hi"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_1PX}},
                {"type": "image", "source": {"type": "url", "url": "https://example.invalid/a.png"}},
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "doc"},
                 "title": "t"},
                {"type": "document", "source": {"type": "content", "content": [{"type": "text", "text": "c"}]}},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "redacted_thinking", "data": "opaque"},
                {"type": "text", "text": "reading"},
                {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"path": "a.py"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "x = 1"}],
                 "is_error": False},
                {"type": "text", "text": "and now?"},
            ],
        },
        {"role": "assistant", "content": "a string answer"},
        {"role": "user", "content": "last"},
    ],
}

WRONG: list[Any] = [None, 5, -1, 1.5, True, "x", "", [], [5], ["x"], {}, {"type": 5}, {"type": "text", "text": 5},
                    [{"type": "text", "text": 5}], [None]]
# model names the reliability rules route: Anthropic pass-through, an Anthropic-compatible profile, OpenAI
ROUTES = {"claude-x": "/v1/messages", "compat-x": "/v1/messages", "gpt-x": "/v1/messages",
          "count": "/v1/messages/count_tokens"}


def _paths(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if at:
        yield at
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, (*at, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _paths(inner, (*at, i))


PATHS = [p for p in _paths(BASE) if p != ("model",)]  # the model picks the route: bent separately below


def _holds(node: Any, step: Any) -> bool:
    if isinstance(node, dict):
        return step in node
    return isinstance(node, list) and isinstance(step, int) and step < len(node)


def bent(route: str, bends: list[tuple[tuple[Any, ...], Any]]) -> dict[str, Any]:
    body = copy.deepcopy(BASE)
    body["model"] = "claude-x" if route == "count" else route
    for path, value in bends:
        node: Any = body
        for step in path[:-1]:
            if _holds(node, step):
                node = node[step]
            else:
                break
        else:
            last = path[-1]
            if isinstance(node, dict) or _holds(node, last):
                node[last] = copy.deepcopy(value)
    return body


CORPUS = [(route, path, value) for route in ROUTES for path in PATHS for value in WRONG]


@pytest.fixture(scope="module")
def fuzz_rel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rel]:
    base = tmp_path_factory.mktemp("fuzz")
    with FakeUpstream() as fake:
        fake.always("/v1/messages", A.auto(A.message(A.text("ok"))))
        fake.always("/compat/v1/messages", A.auto(A.message(A.text("ok"))))
        fake.always("/v1/chat/completions", O.auto(content=["ok"]))
        config_path = write_stack_files(base, reliability_config(fake.url, 9), reliability_rules())
        proxy = start_recorded(config_path, args=("--eject-after", "0", "--retry-stop-after", "0"))
        try:
            yield Rel(fake, proxy, config_path)
        finally:
            proxy.stop()


def _send(http: httpx.Client, url: str, route: str, body: Any) -> httpx.Response:
    content = json.dumps(body).encode()
    headers = {"content-type": "application/json", "x-api-key": CLIENT_KEY}
    return http.post(url + ROUTES[route], content=content, headers=headers)


def test_c4_every_single_wrong_type_is_below_500(fuzz_rel: Rel) -> None:
    server_errors: list[tuple[str, tuple[Any, ...], Any, int, str]] = []
    with httpx.Client(timeout=30) as http:
        for route, path, value in CORPUS:
            response = _send(http, fuzz_rel.url, route, bent(route, [(path, value)]))
            if response.status_code >= 500:
                server_errors.append((route, path, value, response.status_code, response.text[:200]))
            elif response.status_code == 400:
                assert response.json()["error"]["type"] == "invalid_request_error"
    print(f"\nC4 fuzz corpus: {len(CORPUS)} requests, {len(server_errors)} answered 5xx")
    where = Counter(str(e.get("at")) for e in log_entries(fuzz_rel.proxy) if e.get("status", 0) >= 500)
    assert not server_errors, (where.most_common(10), server_errors[:10])


def test_c4_the_unbent_request_is_served_on_every_route(fuzz_rel: Rel) -> None:
    """The control: the corpus is bent from a request every route accepts."""
    with httpx.Client(timeout=30) as http:
        for route in ROUTES:
            response = _send(http, fuzz_rel.url, route, bent(route, []))
            assert response.status_code == 200, (route, response.text)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["type", "text", "x"]), inner, max_size=3),
    max_leaves=6,
)
bends = st.lists(st.tuples(st.sampled_from(PATHS), st.sampled_from(WRONG) | json_values), min_size=1, max_size=4)


@settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(route=st.sampled_from(list(ROUTES)), bends=bends, stream=st.booleans())
def test_c4_generated_wrong_typed_requests_are_never_5xx(
    fuzz_rel: Rel, route: str, bends: list[tuple[tuple[Any, ...], Any]], stream: bool
) -> None:
    body = bent(route, bends)
    if stream and route != "count":
        body["stream"] = True
    with httpx.Client(timeout=30) as http:
        response = _send(http, fuzz_rel.url, route, body)
    assert response.status_code < 500, (route, bends, response.text[:300])


@pytest.mark.parametrize("route", list(ROUTES))
def test_c3_json_nested_deeper_than_the_proxy_can_forward_is_a_clear_400(fuzz_rel: Rel, route: str) -> None:
    """orjson reads 1024 levels but writes only 255: deeper is a 400 saying so, not a 500 when the
    upstream body is written (nor a 200 where that field happens not to be forwarded)."""
    headers = {"content-type": "application/json", "x-api-key": CLIENT_KEY}
    template = json.dumps(bent(route, [(("metadata",), {"deep": "DEEP"})]))
    with httpx.Client(timeout=30) as http:
        for depth in (256, 300, 1000):
            content = template.replace('"DEEP"', "[" * depth + '"leaf"' + "]" * depth)
            response = http.post(fuzz_rel.url + ROUTES[route], content=content, headers=headers)
            assert response.status_code == 400, (depth, response.text[:300])
            assert "nested too deeply" in response.json()["error"]["message"]


def test_c3_a_request_at_the_limit_whose_translation_is_one_level_deeper_is_a_400(fuzz_rel: Rel) -> None:
    """254 levels is what orjson writes; the OpenAI wire nests a tool's schema one level deeper
    (`tools[].function.parameters`): that one request is a 400 there, and served where it fits."""
    schema: Any = {"type": "string"}
    for _ in range(250):  # body, tools, the tool, then 251 schema objects: 254 levels
        schema = {"type": "object", "x": schema}
    body = {**bent("claude-x", []), "tools": [{"name": "Deep", "input_schema": schema}]}
    headers = {"content-type": "application/json", "x-api-key": CLIENT_KEY}
    with httpx.Client(timeout=30) as http:
        served = http.post(fuzz_rel.url + "/v1/messages", content=json.dumps(body), headers=headers)
        translated = http.post(fuzz_rel.url + "/v1/messages", content=json.dumps({**body, "model": "gpt-x"}),
                               headers=headers)
    assert served.status_code == 200, served.text[:300]
    assert translated.status_code == 400, translated.text[:300]
    assert "nested too deeply to send to openai" in translated.json()["error"]["message"]
