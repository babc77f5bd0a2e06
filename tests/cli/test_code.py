"""`cc-proxy code` end to end: from a shell with no cc-proxy running and no Anthropic key, in the README's
example directory (its cc-proxy.json found as ./cc-proxy.json), the real Claude Code CLI answers through
a server `code` started in the background, against a fake DeepSeek; the next `code` reuses that server;
Claude's exit code is `code`'s. And `env` prints the same variables for each shell."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.cli.support import Cli, wait_gone
from tests.e2e.claude_cli import QUIET_ENV, claude_binary
from tests.e2e.conversations import openai_stream
from tests.fakes.server import FakeUpstream
from tests.test_readme import write_example

DEEPSEEK_KEY = "dummy-deepseek_api_key"  # what write_example gives ${DEEPSEEK_API_KEY}


def readme_deepseek(cli: Cli, upstream_url: str) -> dict[str, str]:
    """The README's DeepSeek example, written as a user would, with its base_url on the fake."""
    env = write_example("deepseek", cli.base)
    config = json.loads(cli.config.read_text())
    config["providers"]["deepseek"]["base_url"] = upstream_url
    cli.config.write_text(json.dumps(config, indent=2))
    return env


def shell_env(cli: Cli, extra: dict[str, str]) -> dict[str, str]:
    """A new shell's: PATH, HOME, no ANTHROPIC_* at all (child_env strips them), Claude Code kept offline."""
    return {**QUIET_ENV, "TERM": "dumb", "LANG": "C.UTF-8", **extra}


def code(cli: Cli, env: dict[str, str], *claude_args: str) -> subprocess.CompletedProcess[str]:
    (cli.base / "home").mkdir(exist_ok=True)
    return cli.run("code", "--claude", str(claude_binary()), "--", *claude_args, env=env, timeout=120)


def test_code_starts_a_server_runs_claude_and_reuses_the_server(cli: Cli) -> None:
    with FakeUpstream() as fake:
        fake.always("/chat/completions", openai_stream("deepseek-reasoner", content="Hi from the fake DeepSeek."))
        env = shell_env(cli, readme_deepseek(cli, fake.url))

        first = code(cli, env, "-p", "say hi", "--output-format", "json")
        assert first.returncode == 0, first.stdout + first.stderr
        assert json.loads(first.stdout.strip().splitlines()[-1])["result"] == "Hi from the fake DeepSeek."
        assert "cc-proxy: started in the background: pid " in first.stderr
        (record,) = cli.instances()
        assert record["config_file"] == str(cli.config.resolve())
        main = [r for r in fake.requests if r.path == "/chat/completions"]
        assert main, [r.path for r in fake.requests]
        for request in main:  # the provider's key from the config, never the placeholder Claude was given
            assert request.headers.get("authorization") == f"Bearer {DEEPSEEK_KEY}"
            assert "cc-proxy-holds-the-provider-keys" not in json.dumps(request.raw_headers)

        second = code(cli, env, "-p", "say hi again", "--output-format", "json")
        assert second.returncode == 0, second.stdout + second.stderr
        assert "started in the background" not in second.stderr
        assert cli.instances() == [record]  # the same server, still running

        # Claude's exit code is code's: a flag claude rejects
        direct = subprocess.run([str(claude_binary()), "--no-such-flag"], capture_output=True, text=True,
                                env={**cli.env(env)}, cwd=cli.base, timeout=60)
        assert direct.returncode != 0
        assert code(cli, env, "--no-such-flag").returncode == direct.returncode

        assert cli.run("stop", env=env).returncode == 0
        assert wait_gone(int(record["pid"]))  # type: ignore[call-overload]


def test_code_with_a_broken_config_says_why_and_starts_nothing(cli: Cli) -> None:
    cli.config.write_text('{"routes": {"default": "nowhere"}}')
    done = code(cli, shell_env(cli, {}), "-p", "hi")
    assert done.returncode == 1
    assert "nowhere" in done.stderr and "Traceback" not in done.stderr
    assert cli.instances() == []


def test_code_without_claude_is_a_usage_error(cli: Cli) -> None:
    done = cli.run("code", "--claude", str(cli.base / "no-claude-here"))
    assert done.returncode == 2 and "not found" in done.stderr


@pytest.mark.parametrize(
    ("shell", "lines"),
    [
        ("bash", ["unset ANTHROPIC_API_KEY", "export ANTHROPIC_BASE_URL=http://127.0.0.1:3456",
                  "export ANTHROPIC_AUTH_TOKEN=cc-proxy-holds-the-provider-keys"]),
        ("fish", ["set -e ANTHROPIC_API_KEY", "set -gx ANTHROPIC_BASE_URL http://127.0.0.1:3456",
                  "set -gx ANTHROPIC_AUTH_TOKEN cc-proxy-holds-the-provider-keys"]),
        ("powershell", ["Remove-Item Env:ANTHROPIC_API_KEY -ErrorAction SilentlyContinue",
                        "$env:ANTHROPIC_BASE_URL = 'http://127.0.0.1:3456'",
                        "$env:ANTHROPIC_AUTH_TOKEN = 'cc-proxy-holds-the-provider-keys'"]),
    ],
)
def test_env_prints_the_variables_code_sets(cli: Cli, shell: str, lines: list[str]) -> None:
    env = write_example("deepseek", cli.base)
    done = cli.run("env", "--shell", shell, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == lines
    assert "cc-proxy is not running" in done.stderr  # the config's address, and a hint to start it


def test_env_lines_work_in_bash_and_hand_over_the_proxy_token(cli: Cli) -> None:
    config = {"server": {"auth_token": "${CC_PROXY_TOKEN}"}, "providers": {
        "anthropic": {"format": "anthropic", "base_url": "http://127.0.0.1:9", "api_key": "forward"}}}
    cli.write_config(config)
    env = {"CC_PROXY_TOKEN": "ccp-test-token-0123456789", "ANTHROPIC_API_KEY": "sk-ant-users-own"}
    lines = cli.run("env", "--shell", "bash", env=env).stdout
    # the user's own key is forwarded by this config: kept; the token goes in the other variable
    shown = subprocess.run(["bash", "-c", lines + '\necho "$ANTHROPIC_API_KEY|$ANTHROPIC_AUTH_TOKEN"'],
                           capture_output=True, text=True, env={"ANTHROPIC_API_KEY": "sk-ant-users-own"}, timeout=30)
    assert shown.stdout.strip() == "sk-ant-users-own|ccp-test-token-0123456789"
    assert not re.search(r"ANTHROPIC_API_KEY", lines)


def test_env_defaults_to_the_users_shell(cli: Cli) -> None:
    env = write_example("deepseek", cli.base)
    done = cli.run("env", env={**env, "SHELL": "/usr/bin/fish"})
    assert done.stdout.startswith("set -e ANTHROPIC_API_KEY\n")
    assert sys.platform != "win32"
