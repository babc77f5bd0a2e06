"""A proxy with a client token and a mount prefix; a non-loopback bind without a token is refused."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO_ROOT, child_env
from tests.fakes import anthropic_stream as A
from tests.fakes.responses import Hang, Json
from tests.fakes.server import FakeUpstream
from tests.server.conftest import ANTHROPIC_KEY, PROXY_ENV, RULES, Stack, base_config, start_proxy, write_stack_files

TOKEN = "proxy-token-Zr8Kd2Lw5"
OK = {"model": "claude-x", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("guarded")
    with FakeUpstream() as fake:
        config = base_config(
            fake.url,
            auth_token="${CC_TEST_PROXY_TOKEN}",
            mount_prefix="/anthropic",
            count_tokens="upstream",
            limits={"max_in_flight": 2},
        )
        config_path = write_stack_files(base, config, RULES)
        proxy = start_proxy(config_path, env={"CC_TEST_PROXY_TOKEN": TOKEN})
        try:
            yield Stack(fake, proxy, config_path)
        finally:
            proxy.stop()


def test_wrong_or_missing_token_is_401_with_one_body(guarded: Stack) -> None:
    bodies = set()
    for headers in ({}, {"x-api-key": "wrong"}, {"authorization": "Bearer wrong"}):
        response = httpx.post(guarded.url + "/v1/messages", json=OK, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "authentication_error"
        bodies.add(response.text)
    assert len(bodies) == 1
    assert guarded.fake.requests == []
    assert httpx.get(guarded.url + "/v1/models").status_code == 401


def test_token_as_x_api_key_or_bearer_under_the_prefix(guarded: Stack) -> None:
    guarded.reset()
    guarded.fake.always("*", A.auto(A.message(A.text("ok"))))
    for headers in ({"x-api-key": TOKEN}, {"authorization": f"Bearer {TOKEN}"}):
        response = httpx.post(guarded.url + "/anthropic/v1/messages?beta=true", json=OK, headers=headers)
        assert response.status_code == 200, response.text
    sent = guarded.fake.requests[0]
    assert sent.headers["x-api-key"] == ANTHROPIC_KEY
    assert TOKEN not in repr(guarded.fake.requests[1].raw_headers)
    assert TOKEN not in guarded.proxy.log()


def test_non_loopback_without_token_refuses_to_start(tmp_path: Path) -> None:
    config_path = write_stack_files(tmp_path, base_config("http://127.0.0.1:9"), RULES)
    argv = [sys.executable, "-m", "cc_proxy.server.cli", "serve", "--config", str(config_path), "--host", "0.0.0.0",
            "--port", "0"]
    done = subprocess.run(argv, env=child_env(PROXY_ENV), cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "auth_token" in done.stderr


def test_broken_config_prints_problems_and_exits_1(tmp_path: Path) -> None:
    config = base_config("http://127.0.0.1:9")
    config["routes"]["default"] = "no-such-alias"
    config_path = write_stack_files(tmp_path, config, RULES)
    argv = [sys.executable, "-m", "cc_proxy.server.cli", "serve", "--config", str(config_path), "--port", "0"]
    done = subprocess.run(argv, env=child_env(PROXY_ENV), cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "cc-proxy.json:" in done.stderr and "no-such-alias" in done.stderr


def test_count_tokens_upstream_mode_asks_the_anthropic_target(guarded: Stack) -> None:
    guarded.reset()
    guarded.fake.add("/v1/messages/count_tokens", Json({"input_tokens": 4242}))
    body = {"model": "claude-x", "messages": OK["messages"]}
    response = httpx.post(guarded.url + "/anthropic/v1/messages/count_tokens", json=body, headers={"x-api-key": TOKEN})
    assert response.status_code == 200
    assert response.json() == {"input_tokens": 4242}
    sent = guarded.fake.requests[0]
    assert sent.headers["x-api-key"] == ANTHROPIC_KEY and sent.json["model"] == "claude-sonnet-4-5"
    assert "max_tokens" not in sent.json


def test_flood_past_the_in_flight_limit_is_a_fast_529(guarded: Stack) -> None:
    guarded.reset()
    guarded.fake.always("/v1/messages", Hang())
    headers = {"x-api-key": TOKEN}
    with ThreadPoolExecutor(2) as pool:
        hanging = [pool.submit(httpx.post, guarded.url + "/v1/messages", json=OK, headers=headers, timeout=10)
                   for _ in range(2)]
        guarded.fake.wait_for_requests(2)
        response = httpx.post(guarded.url + "/v1/messages", json=OK, headers=headers)
        assert response.status_code == 529
        assert response.json()["error"]["type"] == "overloaded_error"
        assert response.headers["retry-after"] == "1"
        assert [f.result().status_code for f in hanging] == [504, 504]  # first-byte deadline (2 s)
    assert len(guarded.fake.requests) == 2


def test_repeated_wrong_keys_from_one_address_get_429(tmp_path: Path) -> None:
    with FakeUpstream() as fake:
        config_path = write_stack_files(tmp_path, base_config(fake.url, auth_token=TOKEN), RULES)
        proxy = start_proxy(config_path)
        try:
            statuses = [
                httpx.post(proxy.url + "/v1/messages", json=OK, headers={"x-api-key": f"wrong-{i}"}).status_code
                for i in range(12)
            ]
            assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
            blocked = httpx.post(proxy.url + "/v1/messages", json=OK, headers={"x-api-key": TOKEN})
            assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
            assert fake.requests == []
            assert "wrong-" not in proxy.log()  # presented keys are never logged
        finally:
            proxy.stop()


def test_serve_prints_what_it_loaded_and_the_export_line(guarded: Stack) -> None:
    log = guarded.proxy.log()
    assert f"cc-proxy: config {guarded.config_path} (version " in log
    assert f"cc-proxy: rules {guarded.config_path.parent / 'rules' / 'test.json'}" in log
    assert f"cc-proxy listening on {guarded.url}\n" in log
    assert f"export ANTHROPIC_BASE_URL={guarded.url}/anthropic\n" in log
    assert "CC_TEST_UNSET_KEY" in log  # the unset-key warning, by name
