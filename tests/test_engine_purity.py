"""engine/ is pure: no I/O, environment, clock, randomness or sockets. ruff's banned-api (engine/ruff.toml)
stops the imports; this scan also stops what ruff does not see: builtins that do I/O (open, print, input),
dynamic imports and code execution, the standard streams, and third-party packages outside the short list
the architecture allows."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
ENGINE = REPO_ROOT / "engine"

# Imports banned on top of engine/ruff.toml's list (which this test reads, so the two never drift).
EXTRA_BANNED_MODULES = frozenset(
    {"importlib", "builtins", "ctypes", "multiprocessing", "threading", "tempfile", "logging", "signal", "select"}
)
# The only third-party packages engine/ may use (ARCHITECTURE.md; pydantic's typing helpers count as
# pydantic), plus the engine itself.
ALLOWED_THIRD_PARTY = frozenset(
    {"pydantic", "pydantic_core", "annotated_types", "typing_extensions", "jsonschema", "jmespath"}
    | {"orjson", "re2"}
    | {"json_repair"}  # a parser (tool-call repair): its file helpers are never called
)
BANNED_CALLS = frozenset({"open", "print", "input", "exec", "eval", "__import__", "breakpoint"})
BANNED_ATTRIBUTES = frozenset({("sys", "stdin"), ("sys", "stdout"), ("sys", "stderr"), ("sys", "exit")})


def ruff_banned_modules() -> frozenset[str]:
    config = tomllib.loads((ENGINE / "ruff.toml").read_text())
    banned = config["lint"]["flake8-tidy-imports"]["banned-api"]
    return frozenset(name for name in banned if not name.startswith("builtins."))


BANNED_MODULES = ruff_banned_modules() | EXTRA_BANNED_MODULES


def _module_problems(module: str, line: int) -> list[str]:
    parts = module.split(".")
    prefixes = {".".join(parts[: i + 1]) for i in range(len(parts))}
    if prefixes & BANNED_MODULES:
        return [f"line {line}: imports {module}"]
    top = parts[0]
    if top == "cc_proxy":  # the project's own import name: engine/ imports only itself, never the shell
        return [] if module.startswith("cc_proxy.engine") else [f"line {line}: imports {module} (outside engine/)"]
    if top not in sys.stdlib_module_names and top not in ALLOWED_THIRD_PARTY:
        return [f"line {line}: imports third-party {module} (not in the engine's allowed list)"]
    return []


def purity_problems(source: str) -> list[str]:
    """Every impure thing in one module's source, as `line N: what` strings."""
    problems: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                problems += _module_problems(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            problems += _module_problems(node.module, node.lineno)
            for alias in node.names:  # `from urllib import request` is `import urllib.request`
                if f"{node.module}.{alias.name}" in BANNED_MODULES:
                    problems.append(f"line {node.lineno}: imports {node.module}.{alias.name}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in BANNED_CALLS:
            problems.append(f"line {node.lineno}: calls {node.func.id}()")
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and (node.value.id, node.attr) in BANNED_ATTRIBUTES
        ):
            problems.append(f"line {node.lineno}: uses {node.value.id}.{node.attr}")
    return problems


ENGINE_MODULES = sorted(ENGINE.rglob("*.py"))


def test_engine_has_modules() -> None:
    assert len(ENGINE_MODULES) >= 3, f"engine modules not found under {ENGINE}"


@pytest.mark.parametrize("path", ENGINE_MODULES, ids=[str(p.relative_to(REPO_ROOT)) for p in ENGINE_MODULES])
def test_engine_module_is_pure(path: Path) -> None:
    problems = purity_problems(path.read_text())
    assert not problems, f"{path.relative_to(REPO_ROOT)} is not pure:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import os", "line 1: imports os"),
        ("import os.path", "line 1: imports os.path"),
        ("from time import monotonic", "line 1: imports time"),
        ("from urllib import request", "line 1: imports urllib.request"),
        ("import importlib", "line 1: imports importlib"),
        ("import httpx", "line 1: imports httpx"),
        ("import requests", "line 1: imports third-party requests (not in the engine's allowed list)"),
        ("x = 1\nprint(x)", "line 2: calls print()"),
        ("open('f').read()", "line 1: calls open()"),
        ("__import__('os')", "line 1: calls __import__()"),
        ("from cc_proxy.server.holder import Holder", "line 1: imports cc_proxy.server.holder"),
        ("import sys\nsys.stdout.write('x')", "line 2: uses sys.stdout"),
    ],
)
def test_scanner_catches(source: str, expected: str) -> None:
    assert expected in purity_problems(source)


@pytest.mark.parametrize(
    "source",
    [
        "import re2\nimport orjson\nfrom jmespath import compile",
        "from dataclasses import dataclass\nimport math",
        "from cc_proxy.engine.errors import ConfigProblem",
        "text = obj.print\nstream.open()",  # attributes named like builtins are not the builtins
    ],
)
def test_scanner_allows(source: str) -> None:
    assert purity_problems(source) == []
