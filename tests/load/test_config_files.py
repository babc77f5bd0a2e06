"""server.config_files: where the config is found, rule globs, built-in rule files as package data, and
the shipped files passing `check`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cc_proxy.engine.errors import ConfigError
from cc_proxy.server.cli import main
from cc_proxy.server.config_files import ConfigLoadError, builtin_rule_names, load_from_disk, locate_config

REPO = Path(__file__).resolve().parents[2]
MINIMAL = {
    "providers": {"a": {"format": "anthropic", "base_url": "https://api.anthropic.com", "api_key": "forward"}},
    "models": {"m": {"provider": "a"}},
    "routes": {"default": "m", "think": "m"},
}


def _write(path: Path, doc: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def test_locate_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    assert locate_config(None, env={}) is None
    user = _write(home / ".config" / "cc-proxy" / "cc-proxy.json", MINIMAL)
    assert locate_config(None, env={}) == str(user)
    _write(tmp_path / "cc-proxy.json", MINIMAL)
    assert locate_config(None, env={}) == "cc-proxy.json"
    assert locate_config(None, env={"CC_PROXY_CONFIG": "/etc/x.json"}) == "/etc/x.json"
    assert locate_config("given.json", env={"CC_PROXY_CONFIG": "/etc/x.json"}) == "given.json"


def test_an_explicit_missing_path_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    with pytest.raises(ConfigLoadError) as caught:
        load_from_disk(str(tmp_path / "nope.json"))
    assert caught.value.config_unreadable
    assert [p.code for p in caught.value.problems] == ["config-not-found"]


def test_rule_globs_are_relative_to_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf_dir = tmp_path / "conf"
    config = _write(conf_dir / "cc-proxy.json", {**MINIMAL, "rules": ["rules/*.json", "one.json", "builtin:default"]})
    _write(conf_dir / "rules" / "b.json", {"routing": [{"id": "b", "when": {"tools": True}, "route": "think"}]})
    _write(conf_dir / "rules" / "a.json", {"routing": [{"id": "a", "when": {"images": True}, "route": "think"}]})
    _write(conf_dir / "one.json", {"rewrite": [{"id": "one", "drop": ["metadata"]}]})
    (conf_dir / "rules" / "notes.txt").write_text("not a rule file")
    monkeypatch.chdir(tmp_path / "..")  # the working directory does not matter
    loaded = load_from_disk(str(config), env={})
    snapshot = loaded.snapshot
    assert [r.id for r in snapshot.routing_rules][:2] == ["a", "b"]  # glob matches in name order
    assert snapshot.rule_files[-1] == "builtin:default"
    assert snapshot.rewrite_rules[0].id == "one"
    expected_watch = {str(config), str(conf_dir / "rules"), str(conf_dir / "rules" / "a.json")}
    assert expected_watch <= set(loaded.watch_paths)
    assert str(conf_dir / "one.json") in loaded.watch_paths
    assert all(os.path.isabs(p) for p in loaded.watch_paths)
    assert loaded.files == (str(config), *snapshot.rule_files)


def test_a_glob_matching_nothing_warns_and_a_missing_named_file_fails(tmp_path: Path) -> None:
    config = _write(tmp_path / "cc-proxy.json", {**MINIMAL, "rules": ["local/*.json"]})
    snapshot = load_from_disk(str(config), env={}).snapshot
    assert [(w.code, w.json_path) for w in snapshot.warnings] == [("rules-no-match", "$.rules[0]")]
    _write(config, {**MINIMAL, "rules": ["local.json"]})
    with pytest.raises(ConfigError) as caught:
        load_from_disk(str(config), env={})
    assert [(p.code, p.json_path) for p in caught.value.problems] == [("rules-not-found", "$.rules[0]")]


def test_the_same_file_named_twice_loads_once(tmp_path: Path) -> None:
    rules = ["r.json", "r*.json", "*.json", "builtin:default"] * 2  # "*.json" skips cc-proxy.json itself
    config = _write(tmp_path / "cc-proxy.json", {**MINIMAL, "rules": rules})
    _write(tmp_path / "r.json", {"routing": [{"id": "r", "route": "think"}]})
    snapshot = load_from_disk(str(config), env={}).snapshot
    assert snapshot.rule_files == (str(tmp_path / "r.json"), "builtin:default")


def test_builtin_names_are_the_shipped_rule_files() -> None:
    assert set(builtin_rule_names()) == {p.stem for p in (REPO / "rules").glob("*.json")}


def test_the_builtin_default_config_loads_from_disk() -> None:
    loaded = load_from_disk(None, env={})
    assert loaded.snapshot.config_file is None and loaded.watch_paths == ()
    assert loaded.snapshot.rule_files == ("builtin:default",)


def test_the_example_config_passes_check(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("ANTHROPIC_API_KEY", "OPENROUTER_API_KEY", "DEEPSEEK_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(REPO)
    assert main(["check", "--config", "cc-proxy.json.example"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "ok: cc-proxy.json.example: 3 warnings (2 files checked)"
    assert all(": warning: unset-env: " in line for line in out[:-1])


def test_every_shipped_rule_file_passes_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = json.loads((REPO / "cc-proxy.json.example").read_text())
    example["rules"] = [f"builtin:{name}" for name in builtin_rule_names()]
    _write(tmp_path / "cc-proxy.json", example)
    for name in ("ANTHROPIC_API_KEY", "OPENROUTER_API_KEY", "DEEPSEEK_API_KEY"):
        monkeypatch.setenv(name, "test-key")
    assert main(["check", "--config", str(tmp_path / "cc-proxy.json")]) == 0
    assert capsys.readouterr().out.startswith("ok: ")


def test_check_reports_the_builtin_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CC_PROXY_CONFIG", raising=False)
    assert main(["check"]) == 0
    assert capsys.readouterr().out == "ok: built-in default: 0 warnings (2 files checked)\n"


def test_an_installed_wheel_ships_rules_and_schemas(tmp_path: Path) -> None:
    """`builtin:NAME` and editors' `$schema` need the JSON files inside the distribution, not only the checkout."""
    source = tmp_path / "src"  # a copy: setuptools builds in the source tree and must not litter the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for package in ("cc_proxy", "engine", "server", "rules", "schemas"):  # cc_proxy/ keeps its links
        shutil.copytree(
            REPO / package, source / package, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("cc_proxy-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in [*(REPO / "rules").glob("*.json"), *(REPO / "schemas").glob("*.json")]:
        assert f"cc_proxy/{path.parent.name}/{path.name}" in names
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(target)
    probe = (
        "import sys, cc_proxy.rules as rules, cc_proxy.server.config_files as c; "
        "sys.stdout.write(f'{c.__file__}|{rules.__file__}|{len(c.read_builtin(\"default\"))}')"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(target)},
    )
    assert result.returncode == 0, result.stderr
    module_file, rules_file, size = result.stdout.split("|")
    assert module_file.startswith(str(target)) and rules_file.startswith(str(target))  # not the checkout
    assert int(size) == len((REPO / "rules" / "default.json").read_bytes())


def test_check_does_not_import_the_server_stack(tmp_path: Path) -> None:
    """`check` starts fast: no web framework, HTTP client, tokenizer or watcher is imported."""
    probe = (
        "import sys, contextlib, io; from cc_proxy.server.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()): code = main(['check'])\n"
        "heavy = [m for m in ('sanic', 'httpx', 'tiktoken', 'watchfiles', 'aiohttp') if m in sys.modules]\n"
        "print(code, heavy)"
    )
    env = {k: v for k, v in os.environ.items() if k != "CC_PROXY_CONFIG"}
    env.update({"HOME": str(tmp_path), "PYTHONPATH": str(REPO)})
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env
    )
    assert result.stdout.strip() == "0 []", result.stderr
