"""Why a connection to an upstream failed, in words a user can act on, and whether it can heal soon.

The transports raise httpx.ConnectError/ConnectTimeout with the operating system's (or the TLS
library's) error somewhere in the exception chain: that error, not the wrapper's text, names the
cause. A host name that does not resolve or a certificate that fails verification will still fail in
a few seconds: the proxy does not retry them and tells the client not to either (`x-should-retry:
false`; Claude Code would otherwise retry each one ten times with growing waits, minutes in all).
A refused connection or a timeout can heal in seconds (a local model server starting): retried.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass

# getaddrinfo codes that mean "no such name" (EAI_AGAIN, a resolver that did not answer, may heal)
_NO_SUCH_NAME = frozenset(
    code
    for code in (getattr(socket, name, None) for name in ("EAI_NONAME", "EAI_NODATA", "EAI_ADDRFAMILY", "EAI_FAIL"))
    if code is not None
)


@dataclass(frozen=True, slots=True)
class ConnectFailure:
    reason: str  # "host name api.example.com does not resolve", "connection refused", ...
    heals: bool  # worth retrying within seconds


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def connect_failure(exc: BaseException, host: str, port: int | None) -> ConnectFailure:
    where = f"{host}:{port}" if port else host
    for err in _chain(exc):
        if isinstance(err, ssl.SSLCertVerificationError):
            # aiohttp's wrapper is one too, without the details: the ssl module's own error follows it
            detail = getattr(err, "verify_message", None)
            if detail:
                return ConnectFailure(f"TLS verification failed: {detail}", heals=False)
            continue
        if isinstance(err, ssl.SSLError):
            reason = getattr(err, "reason", None)
            return ConnectFailure(f"TLS handshake failed: {reason or type(err).__name__}", heals=False)
        if isinstance(err, socket.gaierror):
            if err.errno in _NO_SUCH_NAME:
                return ConnectFailure(f"host name {host} does not resolve", heals=False)
            return ConnectFailure(f"host name {host} could not be resolved now ({err.strerror})", heals=True)
        if isinstance(err, ConnectionRefusedError):
            return ConnectFailure(f"connection refused by {where}", heals=True)
        if isinstance(err, TimeoutError):
            return ConnectFailure(f"no connection to {where} within the connect timeout", heals=True)
    text = str(exc)
    if "CERTIFICATE" in text.upper() or any(isinstance(e, ssl.SSLCertVerificationError) for e in _chain(exc)):
        return ConnectFailure("TLS verification failed", heals=False)
    return ConnectFailure(f"connection to {where} failed" + (f": {text[:200]}" if text else ""), heals=True)
