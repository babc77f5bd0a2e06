"""What `cc-proxy serve` was asked for on its command line; everything else comes from the snapshot."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from cc_proxy.engine.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class ServeSettings:
    config_path: str | None = None  # the located cc-proxy.json; None = the built-in default
    host: str | None = None  # CLI override of server.host
    port: int | None = None  # CLI override of server.port (0 = any free port)
    workers: int = 1
    allow_insecure_bind: bool = False  # explicit opt-out of the non-loopback-needs-a-token rule
    upstream_transport: str = "aiohttp"  # "aiohttp" (server/aiohttp_transport.py) or "httpx" (httpx's own pool)
    reload_debounce_ms: int = 1600  # watchfiles' default; tests lower it
    watch: bool = True
    eject_after: int = 5  # consecutive target failures before it is skipped (0: never)
    eject_for: float = 30.0  # first ejection, doubling per repeat up to eject_cap
    eject_cap: float = 300.0
    retry_stop_after: int = 3  # a target whose last N attempts failed gets no retries until one succeeds (0: off)
    header_timeout: float = 10.0  # total seconds to receive a request head (C8: Sanic's timer is inactivity)
    body_timeout: float = 15.0  # total seconds to receive a request body after its head (0: no limit)
    max_connections_per_ip: int = 256  # open connections per peer address (C8); 0 = no cap
    metrics: bool = True  # Prometheus /metrics and its per-request recording
    usage: bool = True  # False: no usage history whatever the config says (serve --no-usage)

    def bind(self, snapshot: Snapshot) -> tuple[str, int]:
        host = self.host if self.host is not None else snapshot.server.host
        port = self.port if self.port is not None else snapshot.server.port
        return host, port


def bind_refusal(host: str, auth_token: str | None, allow_insecure: bool) -> str | None:
    """Why `serve` must not listen on `host` (reliability X2), or None: a non-loopback address without
    server.auth_token would let anyone who reaches it spend the configured keys, unless the operator
    said --insecure-no-auth."""
    if is_loopback(host) or auth_token or allow_insecure:
        return None
    return (
        f"refusing to listen on {host}: a non-loopback address needs server.auth_token "
        "(clients then send it as x-api-key or Bearer); --insecure-no-auth overrides"
    )


def is_loopback(host: str) -> bool:
    """A loopback address (or `localhost`); an IPv4-mapped IPv6 form (`::ffff:127.0.0.1`, a dual-stack
    listener's view of a local peer) counts as its IPv4 address."""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return (mapped or address).is_loopback
