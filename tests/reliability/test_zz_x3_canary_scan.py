"""X3: the provider keys are canaries; search everything the proxy said for them in every encoding.

Run last in the session (tests/conftest.py reorders it), so it scans every proxy log of the session
(every test proxy runs at `--log-level debug`: tests/conftest.py proxy_server, tests/server/conftest.py
start_proxy) and every response the reliability tests captured (status, headers, body), after
provoking its own errors so it means something when run alone. It checks that each log really holds
DEBUG lines, a reload's `config_changed` among them, and searches them for the shared canaries, the
client key and every key a test gave its proxy.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
from pathlib import Path

from tests.conftest import PROXY_SECRETS
from tests.fakes import anthropic_stream as A
from tests.fakes.responses import Close, Hang, anthropic_error, html
from tests.reliability.conftest import CAPTURED, LOG_PATHS, OK, STREAM, Rel
from tests.server.conftest import CANARIES, CLIENT_KEY


def _forms(secret: str) -> list[bytes]:
    raw = secret.encode()
    forms = {raw, raw[-8:], urllib.parse.quote(secret, safe="").encode(), urllib.parse.quote_plus(secret).encode()}
    for prefix in (b"", b"x-api-key: ", b"Bearer "):
        forms.add(base64.b64encode(prefix + raw).rstrip(b"="))
    forms.add(base64.b64encode(raw)[4:-4])  # base64 of the key embedded at any alignment: a middle run
    for shift in (1, 2):
        forms.add(base64.b64encode(b"\0" * shift + raw)[4:-4])
    return sorted(forms)


def _debug_events(log: bytes) -> list[str]:
    events = []
    for line in log.splitlines():
        if line.startswith(b"{"):
            entry = json.loads(line)
            if entry.get("level") == "debug":
                events.append(str(entry.get("event")))
    return events


def _provoke_config_changed(rel: Rel) -> None:
    """Rewrite the rules file (same content) until the watcher logs `config_changed` at DEBUG; a write
    before its watch is registered is only caught up, unlogged, hence the repeat."""
    rules_file = Path(rel.config_path).parent / "rules" / "test.json"
    content = rules_file.read_bytes()
    deadline = time.monotonic() + 20
    while b'"config_changed"' not in rel.proxy.log_path.read_bytes():
        assert time.monotonic() < deadline, "the watcher never logged config_changed at DEBUG"
        rules_file.write_bytes(content)
        for _ in range(40):
            time.sleep(0.1)
            if b'"config_changed"' in rel.proxy.log_path.read_bytes():
                return


def test_x3_no_canary_key_in_any_log_header_or_body(rel: Rel) -> None:
    rel.fake.add("/v1/messages", html(200, "<html>captive</html>"), Hang(), Close(rst=True),
                 anthropic_error(401, "authentication_error", "invalid x-api-key"))
    rel.fake.always("/v1/messages", A.auto(A.message(A.text("ok"))))
    for body in (OK, {**OK, "model": "dns-x"}, {**OK, "model": "tls-x"}, {**OK, "model": "nokey"},
                 {**OK, "model": "dead"}, STREAM, {**OK, "model": "gpt-4o"}, {**OK, "model": "compat-x"}):
        rel.post("/v1/messages", body)
    _provoke_config_changed(rel)
    assert len(LOG_PATHS) >= 1 and len(CAPTURED) >= 8
    haystacks = [(str(path), path.read_bytes()) for path in LOG_PATHS if path.exists()]
    # The scan covers DEBUG only if the proxies logged at DEBUG: each log has its startup DEBUG line.
    debug = {where: _debug_events(text) for where, text in haystacks}
    assert all(debug.values()), f"logs without a DEBUG line: {[w for w, e in debug.items() if not e][:3]}"
    assert any("config_changed" in events for events in debug.values())
    haystacks += [(f"response {i}", text) for i, text in enumerate(CAPTURED)]
    for secret in sorted({*CANARIES, CLIENT_KEY, *PROXY_SECRETS}):
        for form in _forms(secret):
            hits = [where for where, text in haystacks if form in text]
            assert not hits, f"canary {secret[:8]}... (form {form[:12]!r}...) found in {hits[:3]}"
