"""Python hooks through the real server: the two documented examples (read from docs/configuration.md),
a raising hook (500 with the request id, the server keeps serving), import failures as `check` errors
with file and line, and hooks reloading with the config."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import REPO_ROOT, ProxyFactory, child_env
from tests.fakes import anthropic_stream as A
from tests.fakes.responses import Json
from tests.fakes.server import FakeUpstream
from tests.reliability.conftest import wait_for_log

DOCS = (REPO_ROOT / "docs" / "configuration.md").read_text()
EXAMPLES = dict(re.findall(r"<!-- hook-example: ([\w.]+) -->\n```python\n(.*?)```", DOCS, re.S))
KEY = "sk-hook-upstream-Tz4Kq9Wm2Lr7"
TOOLS = [
    {"name": n, "description": n, "input_schema": {"type": "object"}} for n in ("Bash", "WebSearch", "NotebookEdit")
]
BODY: dict[str, Any] = {
    "model": "claude-x",
    "max_tokens": 10,
    "tools": TOOLS,
    "messages": [{"role": "user", "content": "hi"}],
}


def config(url: str, hooks: dict[str, str]) -> dict[str, Any]:
    return {
        "providers": {"up": {"format": "anthropic", "base_url": url, "api_key": KEY}},
        "models": {"m": {"provider": "up", "model": "m-up"}},
        "routes": {"default": "m"},
        "hooks": hooks,
    }


def post(url: str, **extra: Any) -> httpx.Response:
    return httpx.post(url + "/v1/messages", json={**BODY, **extra}, headers={"x-api-key": "client"}, timeout=10)


def wait_until(what: str, check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_the_documented_examples_filter_tools_add_a_header_and_tag_answers(proxy_server: ProxyFactory) -> None:
    assert set(EXAMPLES) == {"filter_tools.py", "add_header.py"}
    with FakeUpstream() as fake:
        fake.always("/v1/messages", A.auto(A.message(A.text("hello"))))
        files = {name: text for name, text in EXAMPLES.items()}
        filtering = proxy_server(config(fake.url, {"request": "filter_tools:before"}), files=files)
        assert post(filtering.url).status_code == 200
        assert [t["name"] for t in fake.requests[0].json["tools"]] == ["Bash"]
        tagging = proxy_server(
            config(fake.url, {"request": "add_header:before", "response": "add_header:after"}), files=files
        )
        answer = post(tagging.url)
        assert answer.json()["metadata"] == {"served_by": "m"}
        sent = fake.requests[1]
        assert (sent.headers["x-team"], sent.headers["x-cc-route"]) == ("platform", "default")
        assert sent.headers["x-api-key"] == KEY
        stream = httpx.post(tagging.url + "/v1/messages", json={**BODY, "stream": True}, timeout=10)
        events = [json.loads(line[6:]) for line in stream.text.splitlines() if line.startswith("data: ")]
        assert [e["type"] for e in events][-1] == "message_stop"
        assert events[0]["message"]["metadata"] == {"served_by": "m"}  # each event went through the hook


def test_a_raising_hook_answers_500_with_the_request_id_and_the_server_keeps_serving(
    proxy_server: ProxyFactory,
) -> None:
    hook = "def before(payload, ctx):\n    if payload['max_tokens'] == 13:\n        raise ValueError('boom')\n"
    with FakeUpstream() as fake:
        fake.always("/v1/messages", Json(A.message(A.text("ok"))))
        proxy = proxy_server(config(fake.url, {"request": "raising:before"}), files={"raising.py": hook})
        failed = post(proxy.url, max_tokens=13)
        assert failed.status_code == 500
        request_id = failed.headers["request-id"]
        assert failed.json()["error"] == {
            "type": "api_error",
            "message": f"request hook raising:before failed (request {request_id})",
        }
        assert fake.requests == []
        assert post(proxy.url).status_code == 200
    [line] = wait_for_log(proxy, lambda e: e.get("event") == "hook_failed")
    assert (line["request_id"], line["exception"], line["at"]) == (request_id, "ValueError", "raising.py:3 in before")


def check(config_path: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "cc_proxy.server.cli", "check", "--config", str(config_path)]
    return subprocess.run(argv, capture_output=True, text=True, env=child_env(), cwd=REPO_ROOT, timeout=60)


def test_a_hook_that_fails_to_import_is_a_check_error_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("import os\n\ndef before(payload, ctx)\n    return payload\n")
    (tmp_path / "raises.py").write_text("import os\n\nVALUE = int(os.environ.get('NOPE', 'x'))\n")
    config_path = tmp_path / "cc-proxy.json"
    for hooks, expected in (
        (
            {"request": "broken:before"},
            f"{tmp_path / 'broken.py'}:3: hook-import: hook broken:before: expected ':'",
        ),
        (
            {"request": "raises:before"},
            f"{tmp_path / 'raises.py'}:3: hook-import: hook raises:before: importing raised ValueError",
        ),
        ({"response": "missing_module:after"}, "hook missing_module:after: no module named 'missing_module'"),
        ({"response": "broken_name:after"}, None),
    ):
        if expected is None:
            (tmp_path / "broken_name.py").write_text("def other(payload, ctx):\n    return None\n")
            expected = "hook broken_name:after: module 'broken_name' has no function 'after'"
        config_path.write_text(json.dumps(config("https://up.example", hooks), indent=2))
        result = check(config_path)
        assert result.returncode != 0, result.stdout
        assert expected in result.stdout + result.stderr, result.stdout + result.stderr


def test_hooks_reload_with_the_config_and_a_broken_edit_keeps_the_old_ones(proxy_server: ProxyFactory) -> None:
    first = "def before(payload, ctx):\n    ctx.upstream_headers['x-hook'] = 'one'\n"
    with FakeUpstream() as fake:
        fake.always("/v1/messages", Json(A.message(A.text("ok"))))
        proxy = proxy_server(
            config(fake.url, {"request": "live:before"}), files={"live.py": first}, args=("--reload-debounce-ms", "50")
        )
        module = proxy.config_path.parent / "live.py"
        assert post(proxy.url).status_code == 200
        assert fake.requests[-1].headers["x-hook"] == "one"
        version = httpx.get(proxy.url + "/health").json()["config_version"]
        module.write_text(first.replace("'one'", "'two'"))
        wait_until("the edited hook", lambda: httpx.get(proxy.url + "/health").json()["config_version"] != version)
        assert post(proxy.url).status_code == 200
        assert fake.requests[-1].headers["x-hook"] == "two"
        module.write_text("def before(payload, ctx)\n")  # a syntax error: rejected, "two" keeps serving
        wait_until("the rejection", lambda: httpx.get(proxy.url + "/health").json()["reloads_rejected"] > 0)
        problems = httpx.get(proxy.url + "/health").json()["last_reload_error"]
        assert any("live.py:1" in p and "hook-import" in p for p in problems), problems
        assert post(proxy.url).status_code == 200
        assert fake.requests[-1].headers["x-hook"] == "two"
