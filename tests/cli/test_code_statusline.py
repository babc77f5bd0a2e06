"""`cc-proxy code` sets Claude Code's status line to `cc-proxy statusline` with `--settings`: the real
Claude Code CLI accepts those arguments and answers through the proxy, and the recorded status-line
command, run as Claude Code runs it (its session JSON on stdin, Claude's environment), prints that
session's route and model. A status line of the user's own, or --no-statusline, leaves Claude's
arguments alone."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.cli.support import Cli
from tests.cli.test_code import readme_deepseek, shell_env
from tests.e2e.claude_cli import claude_binary
from tests.e2e.conversations import openai_stream
from tests.fakes.server import FakeUpstream
from tests.server.conftest import closed_port

RECORDER = """#!/bin/sh
# records the arguments and the proxy address `cc-proxy code` gives claude, then runs the real one
printf '%s\\n' "$@" > "{rec}.args"
printf '%s' "$ANTHROPIC_BASE_URL" > "{rec}.url"
[ -n "$RECORD_ONLY" ] && exit 0
exec "{claude}" "$@"
"""


def recording_claude(cli: Cli) -> tuple[Path, Path]:
    rec = cli.base / "claude-call"
    script = cli.base / "claude-recorder"
    script.write_text(RECORDER.format(rec=rec, claude=claude_binary()))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, rec


def run_code(cli: Cli, claude: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    (cli.base / "home").mkdir(exist_ok=True)
    # a free port of its own: the README example's 3456 may be another test's on a shared machine
    return cli.run("code", "--claude", str(claude), "--port", str(closed_port()), *args, env=env, timeout=120)


def test_claude_runs_with_the_statusline_and_it_shows_the_session(cli: Cli) -> None:
    claude, rec = recording_claude(cli)
    with FakeUpstream() as fake:
        fake.always("/chat/completions", openai_stream("deepseek-reasoner", content="Hi from the fake DeepSeek."))
        env = shell_env(cli, readme_deepseek(cli, fake.url))
        done = run_code(cli, claude, env, "--", "-p", "say hi", "--output-format", "json")
        assert done.returncode == 0, done.stdout + done.stderr
        answer = json.loads(done.stdout.strip().splitlines()[-1])
        assert answer["result"] == "Hi from the fake DeepSeek."  # the real CLI took the --settings JSON
        args = (rec.with_suffix(".args")).read_text().splitlines()
        assert args[0] == "--settings" and args[2:] == ["-p", "say hi", "--output-format", "json"]
        status_line = json.loads(args[1])["statusLine"]
        assert status_line["type"] == "command" and status_line["command"].endswith(" statusline")

        # Claude Code runs the command through a shell, in its own environment, its session JSON on stdin
        session = {"session_id": answer["session_id"], "model": {"id": "deepseek-chat"}, "cwd": str(cli.base)}
        claude_env = {**cli.env(env), "ANTHROPIC_BASE_URL": rec.with_suffix(".url").read_text()}
        shown = subprocess.run(
            status_line["command"], shell=True, input=json.dumps(session), capture_output=True, text=True,
            env=claude_env, cwd=cli.base, timeout=30,
        )  # fmt: skip
        assert shown.returncode == 0, shown.stderr
        line = shown.stdout.strip()
        assert line.startswith("cc-proxy ") and "deepseek" in line and "not reachable" not in line, line
        assert cli.run("stop", env=env).returncode == 0


@pytest.mark.parametrize("where", ["user", "project", "flag", "opt-out"])
def test_a_statusline_of_the_users_own_is_left_alone(cli: Cli, where: str) -> None:
    claude, rec = recording_claude(cli)
    own = {"statusLine": {"type": "command", "command": "my-own-line"}}
    claude_args = ["-p", "hi"]
    code_args: list[str] = []
    if where == "user":
        (cli.base / "home" / ".claude").mkdir(parents=True)
        (cli.base / "home" / ".claude" / "settings.json").write_text(json.dumps(own))
    elif where == "project":
        (cli.base / ".claude").mkdir()
        (cli.base / ".claude" / "settings.local.json").write_text(json.dumps(own))
    elif where == "flag":
        claude_args = ["--settings", json.dumps(own), *claude_args]
    else:
        code_args = ["--no-statusline"]
    with FakeUpstream() as fake:
        env = {**shell_env(cli, readme_deepseek(cli, fake.url)), "RECORD_ONLY": "1"}
        done = run_code(cli, claude, env, *code_args, "--", *claude_args)
        assert done.returncode == 0, done.stdout + done.stderr
        assert rec.with_suffix(".args").read_text().splitlines() == claude_args
        assert cli.run("stop", env=env).returncode == 0


def test_the_users_config_dir_is_read_as_claude_reads_it(tmp_path: Path) -> None:
    from cc_proxy.server.commands.code_statusline import statusline_args

    config_dir = tmp_path / "claude-config"
    config_dir.mkdir()
    environ = {"HOME": str(tmp_path / "home"), "CLAUDE_CONFIG_DIR": str(config_dir)}
    assert statusline_args([], environ, tmp_path)[0] == "--settings"
    (config_dir / "settings.json").write_text('{"statusLine": {"type": "command", "command": "x"}}')
    assert statusline_args([], environ, tmp_path) == []
    (config_dir / "settings.json").write_text("{not json")  # Claude Code ignores it: so does code
    assert statusline_args([], environ, tmp_path)[0] == "--settings"
    assert os.path.isabs(json.loads(statusline_args([], environ, tmp_path)[1])["statusLine"]["command"].split()[0])
