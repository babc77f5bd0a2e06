"""The shipped rules and schemas are package data: an installed wheel finds them outside a checkout."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_installed_outside_the_checkout_serves_builtin_rules_and_schemas(tmp_path: Path) -> None:
    wheel_dir, target, cwd = tmp_path / "wheel", tmp_path / "site", tmp_path / "elsewhere"
    cwd.mkdir()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheel_dir),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheel_dir.glob("cc_proxy-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "cc_proxy/rules/default.json",
        "cc_proxy/schemas/cc-proxy.schema.json",
        "cc_proxy/schemas/rules.schema.json",
        "cc_proxy/server/commands/check.py",
        "cc_proxy/server/commands/serve.py",
        "cc_proxy/engine/wire/openai.py",
        "cc_proxy/server/observe/dashboard.html",
    ):
        assert required in names, f"{required} missing from the wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    # The installed copy must win over the editable checkout, and run from a directory with no rules/.
    probe = (
        "import json, sys, importlib.resources as r, cc_proxy.server.cli, cc_proxy.server.config_files as cf\n"
        "page = r.files('cc_proxy.server.observe').joinpath('dashboard.html').read_text()\n"
        "print(json.dumps({'cli': cc_proxy.server.cli.__file__, 'rules': cf.read_builtin('default') is not None,\n"
        "                  'dashboard': '<svg' in page}))\n"
        "sys.exit(cc_proxy.server.cli.main(['check']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=cwd,
        env={"PYTHONPATH": str(target), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    first, *rest = done.stdout.splitlines()
    facts = json.loads(first)
    assert facts["cli"].startswith(str(target)), facts
    assert facts["rules"] is True and facts["dashboard"] is True
    assert done.returncode == 0, done.stdout + done.stderr
    assert rest[-1].startswith("ok: built-in default"), rest
