"""Startup work deferred or skipped so the server answers sooner, checked on the real serve path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import REPO_ROOT, child_env

PROBE = Path(__file__).with_name("startup_probe.py")


def _probe(tmp_path: Path, wire_format: str) -> dict[str, Any]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "cc-proxy.json"
    config.write_text(
        json.dumps(
            {
                "providers": {"p": {"format": wire_format, "base_url": "http://127.0.0.1:9", "api_key": "k"}},
                "models": {"m": {"provider": "p", "model": "m1"}},
                "routes": {"default": "m"},
            }
        )
    )
    done = subprocess.run(
        [sys.executable, str(PROBE), str(config)],
        cwd=REPO_ROOT,
        env=child_env({}),
        capture_output=True,
        text=True,
        timeout=30,
    )
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_gc_resumes_frozen_and_touch_up_runs_after_the_first_answers(tmp_path: Path) -> None:
    report = _probe(tmp_path, "anthropic")
    # Collection was off while the modules and validators were built, and is back on, with those frozen.
    assert report["gc_enabled_when_ready"] is True
    assert report["frozen_objects"] > 10_000
    # Sanic's request-path touch-up is not part of startup, but has run shortly after.
    assert report["touched_when_ready"] is False
    assert report["touched_later"] is True
    assert report["exit"] == 0


def test_translators_are_loaded_for_the_formats_the_config_names(tmp_path: Path) -> None:
    assert _probe(tmp_path / "a", "anthropic")["openai_translator_loaded"] is False
    openai = _probe(tmp_path / "o", "openai")
    assert openai["openai_translator_loaded"] is True
    # Its streams report usage: the tokenizer (~45 MB) is not built at start (server.tokens.needs_tokens).
    assert openai["tokenizer_loaded"] is False
