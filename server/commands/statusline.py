"""`cc-proxy statusline`: the command for Claude Code's `statusLine` setting.

Claude Code runs it on every status update with its session JSON on stdin; it prints one line: the
route and upstream model of that session's last request through the proxy, its tokens, and the
session's cost so far. Stdlib only and one loopback request, so it answers in a few tens of ms; when
the proxy is down it says so instead of failing.

Which proxy: --url, else $CC_PROXY_URL, else $ANTHROPIC_BASE_URL (what Claude Code itself talks to),
else the running server of cc-proxy.json (found as `serve` finds it) by its PID file, else that
config's host, port and mount prefix.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from typing import Any

TIMEOUT = 0.5  # seconds: a status line must never hang Claude Code
DEFAULT_URL = "http://127.0.0.1:3456"
TOKEN_VARS = ("CC_PROXY_TOKEN", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_API_KEY")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="the proxy's base URL (default: found as described above)")
    parser.add_argument("--config", metavar="PATH", help="cc-proxy.json to read the proxy's address from")


def run(args: argparse.Namespace) -> int:
    session = _session_id(sys.stdin.read() if not sys.stdin.isatty() else "")
    url, token = _proxy(args)
    sys.stdout.write(line(url, token, session) + "\n")
    return 0


def _session_id(text: str) -> str | None:
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError:
        return None
    value = data.get("session_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None


def _proxy(args: argparse.Namespace) -> tuple[str, str | None]:
    """(URL, token). The token: $CC_PROXY_TOKEN, $ANTHROPIC_AUTH_TOKEN, $ANTHROPIC_API_KEY, else the
    config's server.auth_token (a `${VAR}` read from the environment)."""
    from cc_proxy.server.config_locate import locate_config

    config_path = locate_config(args.config)
    server = _server_section(config_path)
    token = next((os.environ[v] for v in TOKEN_VARS if os.environ.get(v)), None) or _config_token(server)
    url = args.url or os.environ.get("CC_PROXY_URL") or os.environ.get("ANTHROPIC_BASE_URL")
    if url:
        return url.rstrip("/"), token
    from cc_proxy.server.instance import find_instance

    instance = find_instance(config_path)  # the PID file of the server serving this config
    if instance is not None:
        return instance.url.rstrip("/"), token
    host = str(server.get("host", "127.0.0.1"))
    host = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, f"[{host}]" if ":" in host else host)
    prefix = str(server.get("mount_prefix", "")).rstrip("/")
    return f"http://{host}:{server.get('port', 3456)}{prefix}", token


def _server_section(config_path: str | None) -> dict[str, Any]:
    if config_path is None:
        return {}
    try:
        with open(config_path, "rb") as fh:
            server = json.load(fh).get("server", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return server if isinstance(server, dict) else {}


def _config_token(server: dict[str, Any]) -> str | None:
    token = server.get("auth_token")
    if not isinstance(token, str) or not token:
        return None
    if token.startswith("${") and token.endswith("}"):
        return os.environ.get(token[2:-1]) or None
    return token


def _quote(text: str) -> str:
    """Percent-encode everything but unreserved characters (RFC 3986)."""
    safe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
    return "".join(c if c in safe else "".join(f"%{b:02X}" for b in c.encode()) for c in text)


def get(url: str, path: str, token: str | None) -> tuple[int, bytes]:
    """One GET over a plain socket: urllib.request alone costs ~30 ms of imports (http.client, email,
    ssl), more than this whole command may take. https (a proxy elsewhere) goes through http.client."""
    scheme, _, rest = url.partition("://")
    authority, _, prefix = rest.partition("/")
    target = ("/" + prefix if prefix else "") + path
    headers = {"x-api-key": token} if token else {}
    if scheme == "https":
        import http.client

        conn = http.client.HTTPSConnection(authority, timeout=TIMEOUT)
        try:
            conn.request("GET", target, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()
    if scheme != "http":
        raise ValueError(f"not an http URL: {url}")
    host, _, port = authority.rpartition(":") if authority.rfind(":") > authority.rfind("]") else (authority, "", "80")
    host = host.strip("[]")
    lines = [f"GET {target} HTTP/1.1", f"Host: {authority}", "Connection: close", "Accept: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        data = bytearray()
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    if any(h.lower().startswith("transfer-encoding:") and "chunked" in h.lower() for h in header_lines):
        body = _unchunk(body)
    return int(status_line.split(" ", 2)[1]), body


def _unchunk(body: bytes) -> bytes:
    out = bytearray()
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += body[:size]
        body = body[size + 2 :]
    return bytes(out)


def _short(n: Any) -> str:
    n = int(n or 0)
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)


def line(url: str, token: str | None, session: str | None) -> str:
    if session is None:
        return "cc-proxy: no session id from Claude Code"
    try:
        status, body = get(url, "/cc-proxy/session/" + _quote(session), token)
        if status != 200:
            reason = {401: "token refused", 404: "usage history off", 429: "too many failed tokens"}.get(status)
            return f"cc-proxy: {reason or f'answered {status}'}"
        data = json.loads(body)
    except (OSError, ValueError):
        return f"cc-proxy: not reachable at {url}"
    last = data.get("last")
    if not isinstance(last, dict):
        return "cc-proxy: no requests from this session yet"
    cached = (last.get("cache_read_tokens") or 0) + (last.get("cache_write_tokens") or 0)
    tokens = f"{_short((last.get('input_tokens') or 0) + cached)} in"
    if cached:
        tokens += f" ({_short(cached)} cached)"
    tokens += f" / {_short(last.get('output_tokens'))} out"
    cost = data.get("cost_usd")
    spent = "cost unknown" if cost is None else f"${cost:.4f}" if cost < 1 else f"${cost:.2f}"
    route = last.get("route") or "-"
    fallback = " (fallback)" if last.get("fallback") else ""
    target = f"{last.get('provider')}/{last.get('upstream_model')}{fallback}"
    return f"cc-proxy {route} → {target} · {tokens} · session {spent}"
