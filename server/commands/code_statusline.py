"""The status line `cc-proxy code` hands Claude Code: `--settings '{"statusLine": ...}'` running
`cc-proxy statusline`, unless the user has a status line of their own.

Settings given with `--settings` rank above the user's and the project's files in Claude Code, so they
are added only when none of those files (`$CLAUDE_CONFIG_DIR/settings.json` or
`~/.claude/settings.json`, the working directory's `.claude/settings.json` and
`.claude/settings.local.json`) sets `statusLine`, and not when the user passes `--settings` themselves.
Managed settings rank above `--settings` and win on their own.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path


def statusline_command() -> str:
    """`cc-proxy statusline` as this installation runs it: its own `cc-proxy` script beside the Python
    running now (a virtualenv need not be on Claude's PATH), else the one on PATH, else `python -m`."""
    beside = Path(sys.executable).parent / "cc-proxy"
    if beside.is_file():
        return f"{shlex.quote(str(beside))} statusline"
    found = shutil.which("cc-proxy")
    if found is not None:
        return f"{shlex.quote(found)} statusline"
    return f"{shlex.quote(sys.executable)} -m cc_proxy.server.cli statusline"


def user_settings_files(environ: Mapping[str, str], cwd: Path) -> list[Path]:
    config_dir = environ.get("CLAUDE_CONFIG_DIR")
    home = Path(environ["HOME"]) if environ.get("HOME") else Path.home()
    user = Path(config_dir) if config_dir else home / ".claude"
    return [user / "settings.json", cwd / ".claude" / "settings.json", cwd / ".claude" / "settings.local.json"]


def has_own_statusline(environ: Mapping[str, str], cwd: Path) -> bool:
    for path in user_settings_files(environ, cwd):
        try:
            settings = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # absent or unreadable: Claude Code ignores it too
            continue
        if isinstance(settings, dict) and settings.get("statusLine") is not None:
            return True
    return False


def statusline_args(claude_args: Sequence[str], environ: Mapping[str, str], cwd: Path) -> list[str]:
    """What to put before the user's claude arguments (nothing when the user has a status line)."""
    if any(arg == "--settings" or arg.startswith("--settings=") for arg in claude_args):
        return []
    if has_own_statusline(environ, cwd):
        return []
    settings = {"statusLine": {"type": "command", "command": statusline_command()}}
    return ["--settings", json.dumps(settings, separators=(",", ":"))]
