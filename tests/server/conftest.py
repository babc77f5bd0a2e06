"""A real `cc-proxy serve` process per test module, in front of an in-process FakeUpstream.

The proxy is started once per module (imports and tiktoken cost ~0.5 s); each test scripts the fake
afresh (`stack` resets it) and talks to the proxy over real sockets on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import socket
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO_ROOT, RunningProcess, child_env, record_proxy, start_process
from tests.fakes.server import FakeUpstream

# Canary secrets: they must reach the fake upstream in the right header and appear nowhere else.
ANTHROPIC_KEY = "sk-ant-canary-Q7w3RkT9vLx2M4pZ"
COMPAT_KEY = "sk-compat-canary-H8n5Yd2Jc6Vb1Xs0"
OPENAI_KEY = "sk-openai-canary-F3k9Lq7Wm2Tz8Rp4"
CLIENT_KEY = "sk-client-own-key-B6v1Nc4Xe9Ju3Gh7"
CANARIES = (ANTHROPIC_KEY, COMPAT_KEY, OPENAI_KEY)
PROXY_ENV = {
    "CC_TEST_ANTHROPIC_KEY": ANTHROPIC_KEY,
    "CC_TEST_COMPAT_KEY": COMPAT_KEY,
    "CC_TEST_OPENAI_KEY": OPENAI_KEY,
}

FAST_SERVER = {
    "timeouts": {"connect": 1, "first_byte": 2, "first_byte_nonstream": 2, "idle": 2, "ping_interval": 0.5},
    "retries": {"max": 2, "base": 0.01, "cap": 0.05},
}

RULES = {
    "routing": [
        {"id": "to-fallback", "when": {"model": {"glob": "fb-*"}}, "route": "withFallback"},
        {"id": "to-nokey", "when": {"model": {"glob": "nokey-*"}}, "route": "noKeyThenBackup"},
        {"id": "to-dead", "when": {"model": {"glob": "dead-*"}}, "route": "deadThenBackup"},
        {"id": "to-openai", "when": {"model": {"glob": "gpt-*"}}, "model": "gpt"},
        {"id": "to-forward", "when": {"model": {"glob": "fwd-*"}}, "model": "fwd"},
        {"id": "to-compat", "when": {"model": {"glob": "compat-*"}}, "model": "backup"},
    ]
}


def closed_port() -> int:
    """A port nothing listens on (bound then released): connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def base_config(fake_url: str, **server: Any) -> dict[str, Any]:
    return {
        "server": {**FAST_SERVER, **server},
        "providers": {
            "anthropic": {
                "format": "anthropic",
                "base_url": fake_url,
                "api_key": "${CC_TEST_ANTHROPIC_KEY}",
                "profile": "anthropic",
            },
            "compat": {
                "format": "anthropic",
                "base_url": fake_url + "/compat",
                "api_key": "${CC_TEST_COMPAT_KEY}",
                "profile": "anthropic-compatible",
                "headers": {"x-provider-extra": "extra-value"},
            },
            "openai": {
                "format": "openai",
                "base_url": fake_url + "/v1",
                "api_key": "${CC_TEST_OPENAI_KEY}",
                "profile": "openai-compatible",
            },
            "forward": {"format": "anthropic", "base_url": fake_url + "/fwd", "api_key": "forward"},
            "nokey": {"format": "anthropic", "base_url": fake_url + "/nokey", "api_key": "${CC_TEST_UNSET_KEY}"},
            "dead": {"format": "anthropic", "base_url": f"http://127.0.0.1:{closed_port()}", "api_key": "x-dead"},
        },
        "models": {
            "sonnet": {"provider": "anthropic", "model": "claude-sonnet-4-5"},
            "backup": {"provider": "compat", "model": "backup-model"},
            "gpt": {"provider": "openai", "model": "gpt-test"},
            "fwd": {"provider": "forward"},
            "nokey": {"provider": "nokey", "model": "nokey-model"},
            "dead": {"provider": "dead", "model": "dead-model"},
        },
        "routes": {
            "default": "sonnet",
            "withFallback": {"model": "sonnet", "fallbacks": ["backup"]},
            "noKeyThenBackup": {"model": "nokey", "fallbacks": ["backup"]},
            "deadThenBackup": {"model": "dead", "fallbacks": ["backup"]},
        },
        "rules": ["rules/test.json"],
    }


@dataclass(frozen=True)
class StreamRead:
    status: int
    headers: dict[str, str]
    body: bytes
    cut: str | None  # why the connection ended without its terminating chunk; None: ended properly

    @property
    def text(self) -> str:
        return self.body.decode()


@dataclass
class Stack:
    fake: FakeUpstream
    proxy: RunningProcess
    config_path: Path

    @property
    def url(self) -> str:
        return self.proxy.url

    def reset(self) -> None:
        """Forget the previous test's script and recorded requests."""
        with self.fake._lock:
            self.fake._queues.clear()
            self.fake._always.clear()
            self.fake._requests.clear()

    def post(
        self, path: str, body: Any, headers: Mapping[str, str] | None = None, *, timeout: float = 10
    ) -> httpx.Response:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent = {"content-type": "application/json", "x-api-key": CLIENT_KEY, **(headers or {})}
        return httpx.post(self.url + path, content=content, headers=sent, timeout=timeout)

    def post_stream(self, path: str, body: Any, *, timeout: float = 10) -> StreamRead:
        """A streamed answer read to its end, or to where the connection broke (reliability U12)."""
        headers = {"content-type": "application/json", "x-api-key": CLIENT_KEY}
        received = bytearray()
        with httpx.Client(timeout=timeout) as client, client.stream(
            "POST", self.url + path, content=json.dumps(body).encode(), headers=headers
        ) as response:
            try:
                for piece in response.iter_raw():
                    received += piece
            except httpx.RemoteProtocolError as exc:  # e.g. "incomplete chunked read": no last chunk
                return StreamRead(response.status_code, dict(response.headers), bytes(received), str(exc))
        return StreamRead(response.status_code, dict(response.headers), bytes(received), None)

    def anthropic(self, **kw: Any) -> Any:
        import anthropic

        return anthropic.Anthropic(base_url=self.url, api_key=CLIENT_KEY, max_retries=0, **kw)


def write_stack_files(base: Path, config: Mapping[str, Any], rules: Mapping[str, Any]) -> Path:
    (base / "rules").mkdir(parents=True, exist_ok=True)
    (base / "rules" / "test.json").write_text(json.dumps(rules, indent=2))
    config_path = base / "cc-proxy.json"
    config_path.write_text(json.dumps(config, indent=2))
    return config_path


def start_proxy(
    config_path: Path, *, env: Mapping[str, str] | None = None, args: tuple[str, ...] = ()
) -> RunningProcess:
    # DEBUG unless `args` says otherwise (argparse: the last --log-level wins); the X3 scan reads the log
    argv = (sys.executable, "-m", "cc_proxy.server.cli", "serve", "--config", str(config_path), "--port", "0",
            "--log-level", "debug", *args)
    proxy = start_process(
        argv,
        log_path=config_path.parent / "proxy.log",
        env=child_env({**PROXY_ENV, **(env or {})}),
        cwd=REPO_ROOT,
        pattern=re.compile(r"listening on (http://127\.0\.0\.1:\d+)"),
    )
    record_proxy(proxy.log_path, env)
    return proxy


@pytest.fixture(scope="module")
def module_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("stack")
    with FakeUpstream() as fake:
        config_path = write_stack_files(base, base_config(fake.url), RULES)
        # Tests share this proxy: no target ejection and no outcome-based retry stop, or one test's
        # failures would reroute (or stop retrying) the next.
        proxy = start_proxy(config_path, args=("--eject-after", "0", "--retry-stop-after", "0"))
        try:
            yield Stack(fake, proxy, config_path)
        finally:
            proxy.stop()


@pytest.fixture
def stack(module_stack: Stack) -> Stack:
    module_stack.reset()
    return module_stack


def assert_no_canary(text: str) -> None:
    for canary in CANARIES:
        for needle in (canary, canary[-8:]):
            assert needle not in text, f"secret canary {needle[:6]}... leaked"
