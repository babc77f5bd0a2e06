"""A real OpenAI-speaking CLI from PyPI, aider (pinned in the Makefile, its own virtualenv), through
cc-proxy's /v1/chat/completions to a scripted Anthropic-format upstream: aider asks for an edit in its
"whole file" format over a stream, and applies the answer to the file on disk.

Offline (checked with strace: its only connection is to the proxy): aider reads model metadata from a
cache under HOME and fetches it only when that is missing, stale or empty, so the test leaves a fresh
one describing the model; `--no-check-update`, `--no-analytics` and LITELLM_LOCAL_MODEL_COST_MAP keep
everything else local."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, ProxyFactory
from tests.fakes.anthropic_stream import auto, message, text
from tests.fakes.server import FakeUpstream

DEFAULT_BINARY = REPO_ROOT / ".cache" / "aider" / "bin" / "aider"
PROVIDER_KEY = "sk-ant-provider-key-for-aider-0004"
PROXY_TOKEN = "sk-proxy-token-given-to-aider-0005"
EDIT = 'Changing the greeting.\n\nhello.py\n```\nprint("hi from cc-proxy")\n```\n'


def aider_binary() -> Path:
    configured = os.environ.get("CC_PROXY_AIDER_BIN")
    binary = Path(configured) if configured else DEFAULT_BINARY
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.fail(f"aider not found at {binary}: run `make aider` (or set CC_PROXY_AIDER_BIN)", pytrace=False)
    return binary


def test_aider_edits_a_file_through_the_proxy(
    proxy_server: ProxyFactory, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    fake_upstream.always("/v1/messages", auto(message(text(EDIT))))
    config = {
        "server": {"auth_token": "${PROXY_TOKEN}"},
        "providers": {"fake": {"format": "anthropic", "base_url": fake_upstream.url, "api_key": "${FAKE_KEY}"}},
        "models": {"sonnet": {"provider": "fake", "model": "claude-fake-2"}},
        "routes": {"default": "sonnet"},
    }
    proxy = proxy_server(config, env={"FAKE_KEY": PROVIDER_KEY, "PROXY_TOKEN": PROXY_TOKEN})
    home, work = tmp_path / "home", tmp_path / "work"
    (home / ".aider" / "caches").mkdir(parents=True)
    metadata = {"max_input_tokens": 200000, "max_output_tokens": 8192, "litellm_provider": "openai", "mode": "chat"}
    (home / ".aider" / "caches" / "model_prices_and_context_window.json").write_text(json.dumps({"sonnet": metadata}))
    work.mkdir()
    (work / "hello.py").write_text('print("hello")\n')
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "TERM": "dumb",
        "LANG": "C.UTF-8",
        "OPENAI_API_BASE": f"{proxy.url}/v1",
        "OPENAI_API_KEY": PROXY_TOKEN,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    argv = [
        str(aider_binary()),
        "--model", "openai/sonnet",
        "--message", "change the greeting",
        "--yes-always", "--no-git", "--no-check-update", "--no-analytics", "--no-show-model-warnings",
        "--no-pretty", "--edit-format", "whole",
        "hello.py",
    ]  # fmt: skip
    run = subprocess.run(argv, cwd=work, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180)

    described = f"exit {run.returncode}\n--- stdout\n{run.stdout[-3000:]}\n--- stderr\n{run.stderr[-3000:]}"
    assert run.returncode == 0, described
    assert (work / "hello.py").read_text() == 'print("hi from cc-proxy")\n', described
    assert "Applied edit to hello.py" in run.stdout, described
    [request] = fake_upstream.requests
    assert request.headers["x-api-key"] == PROVIDER_KEY
    assert PROXY_TOKEN not in " ".join(value for _, value in request.raw_headers)
    body = request.json
    assert body["model"] == "claude-fake-2" and body["stream"] is True
    assert body["system"][0]["text"].startswith("Act as an expert software developer.")  # hoisted
    assert 'print("hello")' in str(body["messages"])  # the file aider added to the chat
    assert '"inbound":"openai-chat"' in proxy.log()
