"""The same problem exits the same way in serve, check and explain (README "Exit codes"): 0 ok, 1 an
invalid config, 2 a usage error or a file that cannot be read; and `explain -` reads standard input."""

from __future__ import annotations

import json

import pytest

from tests.cli.support import Cli

REQUEST = {"model": "claude-haiku-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
INVALID = {"routes": {"default": "nowhere"}}


def commands(cli: Cli, config: str) -> dict[str, list[str]]:
    request = cli.base / "request.json"
    request.write_text(json.dumps(REQUEST))
    return {
        "serve": ["serve", "--config", config, "--port", "0", "--no-watch"],
        "check": ["check", "--config", config],
        "explain": ["explain", "--config", config, str(request)],
    }


@pytest.mark.parametrize("command", ["serve", "check", "explain"])
def test_a_missing_config_file_is_2_and_an_invalid_one_is_1(cli: Cli, command: str) -> None:
    missing = cli.run(*commands(cli, str(cli.base / "no-such.json"))[command])
    assert missing.returncode == 2, missing.stderr
    assert "config-not-found" in missing.stdout + missing.stderr and "Traceback" not in missing.stderr
    cli.write_config(INVALID)
    invalid = cli.run(*commands(cli, str(cli.config))[command])
    assert invalid.returncode == 1, invalid.stdout + invalid.stderr
    assert "nowhere" in invalid.stdout + invalid.stderr and "Traceback" not in invalid.stderr


@pytest.mark.parametrize("command", ["serve", "check", "explain"])
def test_a_usage_error_is_2(cli: Cli, command: str) -> None:
    done = cli.run(command, "--no-such-option")
    assert done.returncode == 2 and "error:" in done.stderr and "Traceback" not in done.stderr


def test_explain_a_missing_request_file_is_2(cli: Cli) -> None:
    cli.write_config()
    done = cli.run("explain", "--config", str(cli.config), str(cli.base / "nope.json"))
    assert done.returncode == 2 and "cannot read" in done.stderr


def test_explain_dash_reads_the_request_from_standard_input(cli: Cli) -> None:
    cli.write_config()
    from_stdin = cli.run("explain", "--json", "--config", str(cli.config), "-", stdin=json.dumps(REQUEST))
    assert from_stdin.returncode == 0, from_stdin.stderr
    (cli.base / "request.json").write_text(json.dumps(REQUEST))
    from_file = cli.run("explain", "--json", "--config", str(cli.config), str(cli.base / "request.json"))
    assert json.loads(from_stdin.stdout) == json.loads(from_file.stdout)
    assert json.loads(from_stdin.stdout)["target"]["alias"] == "small"
    not_json = cli.run("explain", "--config", str(cli.config), "-", stdin="{nope")
    assert not_json.returncode == 2 and "- is not JSON" in not_json.stderr
