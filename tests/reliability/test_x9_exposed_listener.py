"""Issue 10, security: a non-loopback listener stays closed across reloads, and its /health tells an
unauthenticated remote caller nothing but the status.

These tests listen on 0.0.0.0 (the case at stake) with a token set from the start; the remote caller
is this machine's own non-loopback address, so no packet leaves the host."""

from __future__ import annotations

import json
import re
import socket
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO_ROOT, RunningProcess, child_env, record_proxy, start_process
from tests.fakes import anthropic_stream as A
from tests.fakes.server import FakeUpstream
from tests.reliability.conftest import OK, capture, reliability_config, reliability_rules
from tests.server.conftest import PROXY_ENV, write_stack_files
from tests.server.test_reload import wait_for

TOKEN = "proxy-token-X9-Hs2Lp6Qa"


def _serve_exposed(config_path: Path) -> RunningProcess:
    argv = (sys.executable, "-m", "cc_proxy.server.cli", "serve", "--config", str(config_path), "--port", "0",
            "--log-level", "debug", "--reload-debounce-ms", "200")
    proxy = start_process(argv, log_path=config_path.parent / "proxy.log", env=child_env(PROXY_ENV), cwd=REPO_ROOT,
                          pattern=re.compile(r"listening on (http://0\.0\.0\.0:\d+)"))
    record_proxy(proxy.log_path, None)
    proxy.url = proxy.url.replace("0.0.0.0", "127.0.0.1")
    return proxy


def _own_address() -> str | None:
    """This host's outward IPv4 address (a UDP connect sends nothing), None when it has only loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def _exposed_config(fake_url: str, **server: Any) -> dict[str, Any]:
    return reliability_config(fake_url, 9, host="0.0.0.0", auth_token=TOKEN, **server)


def test_x9_a_reload_that_removes_the_token_of_a_non_loopback_listener_is_rejected(tmp_path: Path) -> None:
    with FakeUpstream() as fake:
        fake.always("/v1/messages", A.auto(A.message(A.text("ok"))))
        config_path = write_stack_files(tmp_path, _exposed_config(fake.url), reliability_rules())
        proxy = _serve_exposed(config_path)
        try:
            opened = _exposed_config(fake.url)
            del opened["server"]["auth_token"]
            config_path.write_text(json.dumps(opened))
            wait_for("the reload verdict", lambda: httpx.get(proxy.url + "/health").json()["reloads_rejected"] == 1)
            anonymous = capture(httpx.post(proxy.url + "/v1/messages", json=OK))
            assert anonymous.status_code == 401  # the old config, token included, keeps serving
            with_token = capture(httpx.post(proxy.url + "/v1/messages", json=OK, headers={"x-api-key": TOKEN}))
            assert with_token.status_code == 200
            health = httpx.get(proxy.url + "/health").json()  # loopback: the details
            assert health["reloads"] == 0
            [problem] = health["last_reload_error"]
            assert "unsafe-reload" in problem and "auth_token" in problem
            assert any(
                '"event":"reload_rejected"' in line and "unsafe-reload" in line for line in proxy.log().splitlines()
            )
            assert len(fake.requests) == 1
        finally:
            proxy.stop()


def test_x9_health_for_an_unauthenticated_remote_caller_is_status_only(tmp_path: Path) -> None:
    address = _own_address()
    if address is None:
        pytest.skip("this host has no non-loopback address to call from")
    with FakeUpstream() as fake:
        config_path = write_stack_files(tmp_path, _exposed_config(fake.url), reliability_rules())
        proxy = _serve_exposed(config_path)
        remote_url = proxy.url.replace("127.0.0.1", address)
        try:
            remote = capture(httpx.get(remote_url + "/health"))
            assert remote.status_code == 200
            # the status word only (this config routes to a provider without a key: degraded), no reasons
            assert remote.json() == {"status": "degraded"}
            assert remote.headers["x-cc-proxy-config-version"] == "-"
            authorized = httpx.get(remote_url + "/health", headers={"authorization": f"Bearer {TOKEN}"}).json()
            local = httpx.get(proxy.url + "/health").json()
            for details in (authorized, local):
                assert details["config_file"] == str(config_path) and details["rule_files"]
        finally:
            proxy.stop()
