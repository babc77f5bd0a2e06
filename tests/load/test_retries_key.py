"""`retries.max` counts the retries after a target's first attempt (an attempt being one request sent to an
upstream, as the request log counts them); `retries.attempts`, its old name, still loads with the same
meaning and a `deprecated-key` warning naming the new key; both at once is an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from cc_proxy.server.cli import main
from cc_proxy.server.config_files import load_from_disk

# Written by hand so the warning's line:column is known: `"attempts"` is on line 3, column 32.
CONFIG = """{
  "server": {
    "retries": { "base": 0.01, %s },
    "host": "127.0.0.1"
  },
  "providers": { "a": { "format": "anthropic", "base_url": "https://api.anthropic.com", "api_key": "forward" } },
  "models": { "m": { "provider": "a" } },
  "routes": { "default": "m" }
}
"""


def _check(tmp_path: Path, retries: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    path = tmp_path / "cc-proxy.json"
    path.write_text(CONFIG % retries)
    code = main(["check", "--config", str(path)])
    return code, capsys.readouterr().out.splitlines()


def test_the_old_key_is_a_deprecated_key_warning_naming_the_new_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _check(tmp_path, '"attempts": 1', capsys)
    assert code == 0
    assert out == [
        f"{tmp_path / 'cc-proxy.json'}:3:32: warning: deprecated-key: `retries.attempts` is deprecated: rename it "
        "`retries.max` (same value: retries after the first attempt) (at $.server.retries.attempts)",
        f"ok: {tmp_path / 'cc-proxy.json'}: 1 warning (2 files checked)",
    ]


def test_the_new_key_checks_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ok = f"ok: {tmp_path / 'cc-proxy.json'}: 0 warnings (2 files checked)"
    assert _check(tmp_path, '"max": 1', capsys) == (0, [ok])


def test_both_keys_at_once_are_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _check(tmp_path, '"attempts": 1, "max": 1', capsys)
    assert code == 1
    assert out[0] == (
        f"{tmp_path / 'cc-proxy.json'}:3:32: conflicting-keys: `retries.attempts` is the old name of `retries.max`: "
        "give only `max` (at $.server.retries.attempts)"
    )
    assert out[-1] == f"{tmp_path / 'cc-proxy.json'}: 1 error, 0 warnings (1 file checked)"


@pytest.mark.parametrize(
    ("retries", "expected"),
    [('"cap": 1', 2), ('"max": 0', 0), ('"max": 7', 7), ('"attempts": 0', 0), ('"attempts": 7', 7)],
)
def test_both_names_set_the_same_setting(tmp_path: Path, retries: str, expected: int) -> None:
    path = tmp_path / "cc-proxy.json"
    path.write_text(CONFIG % retries)
    assert load_from_disk(str(path), env={}).snapshot.server.retry_max == expected
