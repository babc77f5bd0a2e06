"""Startup work deferred or skipped so the server answers sooner, checked on the real serve path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import REPO_ROOT, child_env

PROBE = Path(__file__).with_name("startup_probe.py")


def _probe(
    tmp_path: Path, wire_format: str, *, base_url: str = "http://127.0.0.1:9", watch: bool = False
) -> dict[str, Any]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "cc-proxy.json"
    config.write_text(
        json.dumps(
            {
                "providers": {"p": {"format": wire_format, "base_url": base_url, "api_key": "k"}},
                "models": {"m": {"provider": "p", "model": "m1"}},
                "routes": {"default": "m"},
            }
        )
    )
    done = subprocess.run(
        [sys.executable, str(PROBE), str(config), *(["watch"] if watch else [])],
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
    anthropic = _probe(tmp_path / "a", "anthropic")
    assert (anthropic["openai_translator_loaded"], anthropic["responses_translator_loaded"]) == (False, False)
    openai = _probe(tmp_path / "o", "openai")
    assert (openai["openai_translator_loaded"], openai["responses_translator_loaded"]) == (True, False)
    responses = _probe(tmp_path / "r", "openai-responses")
    assert responses["responses_translator_loaded"] is True
    # Its streams report usage: the tokenizer (~45 MB) is not built at start (server.tokens.needs_tokens).
    assert openai["tokenizer_loaded"] is False


def test_unused_accelerators_and_anyio_stay_unloaded_with_the_watcher_on(tmp_path: Path) -> None:
    """server/__init__.py keeps out ujson and frozenlist's C++ build; the watcher loads watchfiles'
    extension module without the package, so anyio stays out (~1.7 MB resident together)."""
    report = _probe(tmp_path, "anthropic", watch=True)
    assert report["watching"] is True
    assert report["modules_loaded"] == []
    assert report["exit"] == 0


def test_the_upstream_trust_store_is_loaded_at_the_first_tls_connection_not_at_start(tmp_path: Path) -> None:
    # https upstream or not: nothing is loaded until a TLS connection (tests/server/test_upstream_tls.py)
    assert _probe(tmp_path, "anthropic", base_url="https://127.0.0.1:9")["upstream_trust_loaded"] is False
