"""Installed beside other packages: the wheel claims one top-level name, `cc_proxy`, so a package that
ships top-level `rules/` and `server/` (as PyPI's `rules` does) installs and uninstalls next to it and
both keep working, whichever goes first. A fresh venv from the base interpreter, offline
(`--no-index --no-deps`); the test venv's site-packages lends the dependencies through a .pth line."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONFIG = {"rules": ["builtin:default"], "providers": {
    "anthropic": {"format": "anthropic", "base_url": "http://127.0.0.1:9", "api_key": "forward"}},
    "models": {"m": {"provider": "anthropic", "model": "claude-x"}},
    "routes": {"default": "m", "background": "m", "think": "m", "longContext": "m", "webSearch": "m", "image": "m"}}


def run(argv: list[str], cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f"$ {' '.join(argv)}\n{done.stdout}{done.stderr}"
    result: subprocess.CompletedProcess[str] = done
    return result


def build_wheel(source: Path, out: Path) -> Path:
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out),
         str(source)], cwd=out.parent)
    (wheel,) = out.glob("*.whl")
    return wheel


def other_package(base: Path) -> Path:
    """A small package that ships the generic names `rules` and `server` at the top level."""
    root = base / "other"
    for name, body in {"rules": "def verdict():\n    return 'rules from other'\n",
                       "server": "def hello():\n    return 'server from other'\n"}.items():
        (root / name).mkdir(parents=True)
        (root / name / "__init__.py").write_text(body)
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "other-generic-names"\nversion = "1.0"\n'
        '[tool.setuptools]\npackages = ["rules", "server"]\n'
    )
    return root


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("wheels")
    (base / "ours").mkdir()
    (base / "theirs").mkdir()
    ours = build_wheel(REPO, base / "ours")
    theirs = build_wheel(other_package(base), base / "theirs")
    return ours, theirs


def fresh_venv(base: Path) -> Path:
    """A venv of the base interpreter whose own site-packages comes first; the test venv's (the
    dependencies, installed from PyPI by `make install-test`) is reached through a .pth line after it.
    A plain path line: the test venv's own .pth files (the editable checkout) are not run."""
    venv = base / "venv"
    base_python = getattr(sys, "_base_executable", sys.executable)
    run([base_python, "-m", "venv", "--without-pip", str(venv)], cwd=base)  # pip runs from outside (below)
    python = venv / "bin" / "python"
    site = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                    cwd=base).stdout.strip())
    (site / "zz_test_venv_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def pip(python: Path, *args: str) -> None:
    """The test venv's pip acting on the fresh venv (`--python`): no pip of its own to bootstrap."""
    run([sys.executable, "-m", "pip", "--python", str(python), "-q", "--disable-pip-version-check", *args],
        cwd=python.parent)


def ours_work(python: Path, cwd: Path) -> None:
    (cwd / "cc-proxy.json").write_text(json.dumps(CONFIG))
    probe = run([str(python), "-c", "import cc_proxy.server.cli as c; print(c.__file__)"], cwd=cwd).stdout
    assert probe.startswith(str(python.parent.parent)), probe  # the wheel's copy, not the checkout
    cli = python.parent / "cc-proxy"
    assert run([str(cli), "--version"], cwd=cwd).stdout.startswith("cc-proxy ")
    checked = run([str(cli), "check"], cwd=cwd).stdout  # ./cc-proxy.json with the shipped builtin:default
    assert checked.startswith("ok: cc-proxy.json"), checked


def theirs_work(python: Path, cwd: Path) -> None:
    out = run([str(python), "-c", "import rules, server; print(rules.verdict(), '|', server.hello())"], cwd=cwd)
    assert out.stdout.strip() == "rules from other | server from other"


def absent(python: Path, cwd: Path, module: str) -> None:
    done = subprocess.run([str(python), "-c", f"import {module}"], cwd=cwd, capture_output=True, timeout=60)
    assert done.returncode != 0, f"{module} still importable"


def test_the_wheel_claims_only_cc_proxy(wheels: tuple[Path, Path]) -> None:
    ours, _ = wheels
    tops = {name.split("/")[0] for name in zipfile.ZipFile(ours).namelist()}
    assert {t for t in tops if not t.endswith((".dist-info", ".data"))} == {"cc_proxy"}


@pytest.mark.parametrize("first", ["ours", "theirs"])
def test_both_work_after_installing_and_uninstalling_either(
    wheels: tuple[Path, Path], tmp_path: Path, first: str
) -> None:
    ours, theirs = wheels
    python = fresh_venv(tmp_path)
    cwd = tmp_path / "work"
    cwd.mkdir()
    order = [ours, theirs] if first == "ours" else [theirs, ours]
    for wheel in order:
        pip(python, "install", "--no-index", "--no-deps", str(wheel))
    ours_work(python, cwd)
    theirs_work(python, cwd)

    pip(python, "uninstall", "-y", "other-generic-names")
    ours_work(python, cwd)
    absent(python, cwd, "rules")

    pip(python, "install", "--no-index", "--no-deps", str(theirs))
    pip(python, "uninstall", "-y", "cc-proxy")
    theirs_work(python, cwd)
    absent(python, cwd, "cc_proxy")
