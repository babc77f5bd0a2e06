"""The README's examples work: every JSON block in it is marked with the example and file it belongs to
(`<!-- readme-test: EXAMPLE/FILE -->` on the line before the fence), each example is written to a
directory as is, and `cc-proxy check` must accept it. Every console block (`<!-- readme-output: EXAMPLE
[without VAR] -->`, then `$ cc-proxy ...` and its output) is run in that directory and must print what
the README shows (config version hashes aside). `${VAR}`s the examples use are set to dummies, except
the ones named after `without`."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, child_env

README = REPO_ROOT / "README.md"
BLOCK = re.compile(r"<!-- readme-test: (?P<example>[\w.-]+)/(?P<file>[\w./-]+) -->\n```json\n(?P<body>.*?)\n```", re.S)
ENV_REF = re.compile(r"\$\{(\w+)\}")
OUTPUT = re.compile(
    r"<!-- readme-output: (?P<example>[\w.-]+)(?: without (?P<unset>[\w,]+))? -->\n```console\n"
    r"\$ cc-proxy (?P<args>[^\n]+)\n(?P<output>.*?)\n```",
    re.S,
)
VERSION = re.compile(r"\(version [0-9a-f]+\)")


def readme_examples() -> dict[str, dict[str, str]]:
    """example name -> {relative file name: content}."""
    examples: dict[str, dict[str, str]] = {}
    for match in BLOCK.finditer(README.read_text()):
        examples.setdefault(match["example"], {})[match["file"]] = match["body"]
    return examples


EXAMPLES = readme_examples()
OUTPUTS = list(OUTPUT.finditer(README.read_text()))


def write_example(name: str, directory: Path, unset: tuple[str, ...] = ()) -> dict[str, str]:
    """Write example `name` into `directory`; returns the environment its `${VAR}`s get."""
    env: dict[str, str] = {}
    for relative, content in EXAMPLES[name].items():
        json.loads(content)  # strict JSON, as a user would paste it
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        env.update({var: f"dummy-{var.lower()}" for var in ENV_REF.findall(content) if var not in unset})
    return env


def cc_proxy(
    args: list[str], *, cwd: Path, env: dict[str, str], unset: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in child_env(env).items() if k not in unset}
    return subprocess.run(
        [sys.executable, "-m", "cc_proxy.server.cli", *args],
        cwd=cwd,
        env={**full_env, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_json_block_is_a_tested_example() -> None:
    text = README.read_text()
    assert text.count("```json") == len(BLOCK.findall(text)), "a ```json block in README.md has no readme-test marker"
    assert EXAMPLES, "README.md has no tested config example"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_readme_example_passes_check(name: str, tmp_path: Path) -> None:
    assert "cc-proxy.json" in EXAMPLES[name], f"example {name!r} has no cc-proxy.json"
    env = write_example(name, tmp_path)
    result = cc_proxy(["check", "--config", "cc-proxy.json"], cwd=tmp_path, env=env)
    assert result.returncode == 0, f"cc-proxy check rejected README example {name!r}:\n{result.stdout}{result.stderr}"


def test_readme_has_console_examples() -> None:
    assert README.read_text().count("```console") == len(OUTPUTS), "a console block has no readme-output marker"
    assert OUTPUTS, "README.md shows no command output"


@pytest.mark.parametrize("block", OUTPUTS, ids=[f"{m['example']}: {m['args']}" for m in OUTPUTS])
def test_readme_console_output_is_real(block: re.Match[str], tmp_path: Path) -> None:
    unset = tuple((block["unset"] or "").split(",")) if block["unset"] else ()
    env = write_example(block["example"], tmp_path, unset)
    result = cc_proxy(shlex.split(block["args"]), cwd=tmp_path, env=env, unset=unset)
    assert result.returncode == 0, f"$ cc-proxy {block['args']}\n{result.stdout}{result.stderr}"
    shown = VERSION.sub("(version X)", block["output"])
    assert VERSION.sub("(version X)", result.stdout.rstrip("\n")) == shown


def test_readme_builtin_default_before_your_own_rules(tmp_path: Path) -> None:
    """The README's combination: builtin:default listed before the example's rules.json, whose
    `background` rule replaces the built-in one of that id while the other built-in rules stay."""
    assert '`"rules": ["builtin:default",\n"rules.json"]`' in README.read_text()
    env = write_example("deepseek", tmp_path)
    config = json.loads((tmp_path / "cc-proxy.json").read_text())
    config["rules"] = ["builtin:default", "rules.json"]
    (tmp_path / "cc-proxy.json").write_text(json.dumps(config))
    checked = cc_proxy(["check", "--config", "cc-proxy.json"], cwd=tmp_path, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    explained = cc_proxy(["explain", "--json", "--config", "cc-proxy.json", "request.json"], cwd=tmp_path, env=env)
    assert explained.returncode == 0, explained.stderr
    report = json.loads(explained.stdout)
    assert report["rule"] == "background" and report["target"]["alias"] == "chat"
    tried = [(step["rule"], step["phase"]) for step in report["trace"]]
    assert ("long-context", "routing") in tried  # a built-in rule the example does not override
    assert tried.count(("background", "routing")) == 1  # only the example's own
