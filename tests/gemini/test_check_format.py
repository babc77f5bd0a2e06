"""`cc-proxy check` rejects a format the schema knows but no wire module speaks, at its file:line, naming
the formats this version has (engine.wire.formats is the one table both check and the server read)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cc_proxy.engine.wire import formats
from cc_proxy.server.cli import main

CONFIG = {
    "providers": {"google": {"format": "gemini", "base_url": "https://generativelanguage.googleapis.com"}},
    "models": {"pro": {"provider": "google", "model": "gemini-2.5-pro"}},
    "routes": {"default": "pro"},
}


def _check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    (tmp_path / "cc-proxy.json").write_text(json.dumps(CONFIG, indent=2))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CC_PROXY_CONFIG", raising=False)
    code = main(["check", "--config", "cc-proxy.json"])
    return code, capsys.readouterr().out


def test_a_format_without_a_wire_module_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(formats, "TRANSLATED_WIRES", {"openai": formats.TRANSLATED_WIRES["openai"]})
    code, out = _check(tmp_path, monkeypatch, capsys)
    assert code == 1
    assert out == (
        "cc-proxy.json:4:7: unsupported-format: format 'gemini' has no wire module in this version "
        "(formats: anthropic, openai) (at $.providers.google.format)\n"
        "cc-proxy.json: 1 error, 0 warnings (1 file checked)\n"
    )


def test_the_gemini_format_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _check(tmp_path, monkeypatch, capsys)
    assert (code, out) == (0, "ok: cc-proxy.json: 0 warnings (2 files checked)\n")
