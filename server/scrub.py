"""Exact-value scrubbing of what upstreams send back: some echo the key they were sent ("invalid api
key sk-..."), in JSON errors, HTML pages or in-band stream errors. Pattern redaction
(engine.wire.errors.redact) only knows common key shapes; the proxy knows the exact values it holds, so
every upstream error body is cleaned of each of them before it is logged or sent, on every path.

The values: every configured provider key and provider header value (a header may carry a
secret, and which ones do is not knowable), the proxy's own token, and the keys the client presented (forwarded to
`forward` providers). Values shorter than MIN_SECRET are left alone: replacing a two-letter "key"
would garble the message and protects nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from cc_proxy.engine.snapshot import Snapshot
from cc_proxy.server.auth import presented_keys

MIN_SECRET = 6
MASK = "***"


class Scrubber:
    __slots__ = ("_secrets", "_texts")

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first: a key that contains another is replaced whole.
        texts = sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True)
        self._texts = tuple(texts)
        self._secrets = tuple(t.encode() for t in texts)

    def bytes(self, data: bytes) -> bytes:
        for secret in self._secrets:
            if secret in data:
                data = data.replace(secret, MASK.encode())
        return data

    def text(self, value: str) -> str:
        for secret in self._texts:
            if secret in value:
                value = value.replace(secret, MASK)
        return value


def snapshot_secrets(snapshot: Snapshot) -> list[str]:
    values: list[str] = []
    for provider in snapshot.providers.values():
        if provider.api_key.value:
            values.append(provider.api_key.value)
        values.extend(provider.headers.values())  # may carry a secret (`Authorization: ${ENV}`)
    if snapshot.server.auth_token:
        values.append(snapshot.server.auth_token)
    return values


def scrubber_for(snapshot: Snapshot, client_headers: Mapping[str, str]) -> Scrubber:
    """Built only when an upstream error is in hand (a few dozen string checks), never per request."""
    return Scrubber([*snapshot_secrets(snapshot), *presented_keys(client_headers)])
