"""Security X1-X8 (../shared/reliability.md section 2): the parts nothing else tests. X3 (canary scan
over everything captured) is test_zz_x3_canary_scan.py, collected last."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.conftest import REPO_ROOT
from tests.fakes import anthropic_stream as A
from tests.fakes import openai_stream as O
from tests.fakes.server import FakeUpstream
from tests.reliability.conftest import (
    OK,
    Rel,
    capture,
    log_entries,
    reliability_config,
    reliability_rules,
    start_recorded,
)
from tests.server.conftest import (
    ANTHROPIC_KEY,
    CANARIES,
    CLIENT_KEY,
    OPENAI_KEY,
    assert_no_canary,
    write_stack_files,
)

HOP_BY_HOP = {
    "connection": "keep-alive, x-hop-listed",
    "keep-alive": "timeout=5",
    "x-hop-listed": "must-not-travel",
    "proxy-authorization": "Basic c2VjcmV0OnNlY3JldA==",
    "te": "trailers",
    "trailer": "x-something",
}


def test_x5_upstreams_see_only_their_own_key_and_no_hop_by_hop_headers(rel: Rel) -> None:
    rel.fake.always("/v1/messages", A.auto(A.message(A.text("ok"))))
    rel.fake.always("/v1/chat/completions", O.auto(content=["ok"]))
    headers = {**HOP_BY_HOP, "authorization": f"Bearer {CLIENT_KEY}", "anthropic-beta": "some-beta-2025-01-01",
               "anthropic-version": "2023-06-01"}
    assert rel.post("/v1/messages", OK, headers).status_code == 200
    assert rel.post("/v1/messages", {**OK, "model": "gpt-4o"}, headers).status_code == 200
    anthropic, openai = rel.fake.requests
    assert anthropic.path == "/v1/messages" and openai.path == "/v1/chat/completions"
    assert anthropic.headers["x-api-key"] == ANTHROPIC_KEY
    assert "authorization" not in anthropic.headers
    assert anthropic.headers["anthropic-beta"] == "some-beta-2025-01-01"
    assert openai.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert "x-api-key" not in openai.headers
    assert not [name for name in openai.headers if name.startswith("anthropic-")]
    for sent in (anthropic, openai):
        raw = repr(sent.raw_headers)
        assert CLIENT_KEY not in raw
        for name in ("keep-alive", "x-hop-listed", "proxy-authorization", "te", "trailer"):
            assert name not in sent.headers, (sent.path, name)
        assert "x-hop-listed" not in sent.headers.get("connection", "")
        other_keys = [k for k in CANARIES if k != (ANTHROPIC_KEY if sent is anthropic else OPENAI_KEY)]
        assert not any(k in raw or k in sent.body.decode() for k in other_keys)


def test_x6_client_supplied_base_urls_never_change_the_target(rel: Rel) -> None:
    with FakeUpstream() as attacker:
        attacker.always("*", A.auto(A.message(A.text("stolen"))))
        rel.fake.always("/v1/messages", A.auto(A.message(A.text("ok"))))
        body = {**OK, "api_base": attacker.url, "base_url": attacker.url, "baseURL": attacker.url}
        headers = {"x-base-url": attacker.url, "x-api-base": attacker.url, "x-forwarded-host": "evil.example",
                   "host": attacker.url.removeprefix("http://")}
        for path in ("/v1/messages", f"/v1/messages?api_base={attacker.url}&base_url={attacker.url}"):
            response = rel.post(path, body, headers)
            assert response.status_code in (200, 400), response.text
            if response.status_code == 200:
                assert response.json()["content"][0]["text"] == "ok"
        assert attacker.requests == []
        assert all(r.headers.get("x-api-key") == ANTHROPIC_KEY for r in rel.fake.requests)


def test_x4_proxy_made_errors_carry_no_key_trace_or_path(rel: Rel) -> None:
    cases = [
        (b'{"model": ', {}),  # 400 syntax
        (json.dumps({**OK, "messages": "x"}).encode(), {}),  # 400 type
        (json.dumps({**OK, "model": "nosuchprovider,m"}).encode(), {}),  # 404
        (json.dumps({**OK, "model": "dns-x"}).encode(), {}),  # 502 DNS
        (json.dumps({**OK, "model": "dead"}).encode(), {}),  # 502 refused
        (json.dumps({**OK, "model": "nokey"}).encode(), {}),  # 500 unset key
        (json.dumps({**OK, "model": "tls-x"}).encode(), {}),  # 502 TLS
        (json.dumps(OK).encode(), {"x-big": "a" * 70000}),  # 413 header
    ]
    for raw, headers in cases:
        response = rel.post("/v1/messages", raw, headers)
        assert response.status_code >= 400, response.text
        body = response.json()
        assert body["type"] == "error" and response.headers.get("request-id")
        text = response.text + repr(dict(response.headers))
        assert "Traceback" not in text and 'File "' not in text
        assert str(REPO_ROOT) not in text and "site-packages" not in text
        assert_no_canary(text)
        assert CLIENT_KEY not in text
    get = capture(httpx.get(rel.url + "/no/such/route"))
    assert get.status_code == 404 and "Traceback" not in get.text


def test_x7_long_fields_are_cut_and_every_log_line_is_one_json_object(rel: Rel) -> None:
    rel.fake.always("*", A.auto(A.message(A.text("ok"))))
    rel.post("/v1/messages", {**OK, "model": "m" * 100_000 + "\n2026-01-01 ERROR forged\x1b[31m"})
    big = rel.post("/v1/messages", OK, {"x-huge": "h" * (1024 * 1024)})
    assert big.status_code in (413, 431)
    lines = rel.proxy.log().splitlines()
    json_lines = [line for line in lines if line.startswith("{")]
    assert json_lines
    for line in json_lines:
        assert len(line) < 5000, line[:200]
        assert "\x1b" not in line
        json.loads(line)
    assert any("m" * 300 in line for line in json_lines)  # logged, but cut
    assert len(log_entries(rel.proxy)) == len(json_lines)


def test_x8_no_admin_or_reload_endpoint_by_default(rel: Rel) -> None:
    for method in ("GET", "POST", "PUT"):
        for path in ("/admin", "/admin/reload", "/reload", "/_reload", "/config", "/v1/config", "/debug"):
            response = capture(httpx.request(method, rel.url + path, headers={"x-api-key": CLIENT_KEY}))
            assert response.status_code in (404, 405), (method, path, response.status_code)
    assert rel.fake.requests == []


def test_x1_wrong_keys_from_one_address_do_not_lock_out_another(tmp_path: Path) -> None:
    token = "proxy-token-X1-Qm4Rt8Vw"
    with FakeUpstream() as fake:
        fake.always("/v1/messages", A.auto(A.message(A.text("ok"))))
        config = reliability_config(fake.url, 9, auth_token=token)
        config_path = write_stack_files(tmp_path, config, reliability_rules())
        proxy = start_recorded(config_path, args=("--no-watch",))
        try:
            bodies = set()
            with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2")) as attacker:
                statuses = []
                for i in range(30):
                    response = capture(attacker.post(proxy.url + "/v1/messages", json=OK,
                                                     headers={"x-api-key": f"wrong-key-{i:04d}"}))
                    statuses.append(response.status_code)
                    if response.status_code == 401:
                        bodies.add(response.content)
                    else:
                        assert int(response.headers["retry-after"]) > 0
            assert statuses[:10] == [401] * 10 and set(statuses[10:]) == {429}
            assert len(bodies) == 1
            with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.1")) as honest:
                ok = capture(honest.post(proxy.url + "/v1/messages", json=OK, headers={"x-api-key": token}))
            assert ok.status_code == 200  # another address is not affected
            assert len(fake.requests) == 1
            assert "wrong-key-" not in proxy.log()
        finally:
            proxy.stop()
