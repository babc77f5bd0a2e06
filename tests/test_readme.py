"""The README's examples work: every JSON block in it is marked with the example and file it belongs to
(`<!-- readme-test: EXAMPLE/FILE -->` on the line before the fence), each example is written to a
directory as is, and `cc-proxy check` must accept it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, child_env

README = REPO_ROOT / "README.md"
BLOCK = re.compile(r"<!-- readme-test: (?P<example>[\w.-]+)/(?P<file>[\w./-]+) -->\n```json\n(?P<body>.*?)\n```", re.S)
ENV_REF = re.compile(r"\$\{(\w+)\}")


def readme_examples() -> dict[str, dict[str, str]]:
    """example name -> {relative file name: content}."""
    examples: dict[str, dict[str, str]] = {}
    for match in BLOCK.finditer(README.read_text()):
        examples.setdefault(match["example"], {})[match["file"]] = match["body"]
    return examples


EXAMPLES = readme_examples()


def test_every_json_block_is_a_tested_example() -> None:
    text = README.read_text()
    assert text.count("```json") == len(BLOCK.findall(text)), "a ```json block in README.md has no readme-test marker"
    assert EXAMPLES, "README.md has no tested config example"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_readme_example_passes_check(name: str, tmp_path: Path) -> None:
    files = EXAMPLES[name]
    assert "cc-proxy.json" in files, f"example {name!r} has no cc-proxy.json"
    env: dict[str, str] = {}
    for relative, content in files.items():
        json.loads(content)  # strict JSON, as a user would paste it
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        env.update({var: f"dummy-{var.lower()}" for var in ENV_REF.findall(content)})
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "check", "--config", str(tmp_path / "cc-proxy.json")],
        cwd=REPO_ROOT,
        env=child_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"cc-proxy check rejected README example {name!r}:\n{result.stdout}{result.stderr}"
