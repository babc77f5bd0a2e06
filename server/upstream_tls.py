"""The upstream client's TLS context, with its trust store loaded at the first TLS connection.

Loading certifi's bundle (as httpx does by default) costs ~23 ms and ~0.7 MB resident at start-up; a
config whose upstreams are all plain http (Ollama, vLLM, a local gateway) never needs it. The context is
otherwise exactly httpx's default: `ssl.create_default_context(cafile=certifi.where())`.
"""

from __future__ import annotations

import os
import ssl
import sys
from typing import Any

import certifi


class LazyTrustContext(ssl.SSLContext):
    """Loads certifi's CA bundle just before its first TLS session: both asyncio/uvloop (wrap_bio) and
    blocking sockets (wrap_socket) go through one of the two methods, before any certificate is checked."""

    _trust_loaded = False

    def _load_trust(self) -> None:
        if not self._trust_loaded:
            self.load_verify_locations(cafile=certifi.where())
            self._trust_loaded = True

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        self._load_trust()
        return super().wrap_bio(*args, **kwargs)

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self._load_trust()
        return super().wrap_socket(*args, **kwargs)


def upstream_ssl_context() -> ssl.SSLContext:
    """What `ssl.create_default_context(cafile=certifi.where())` builds, minus the load until needed."""
    context = LazyTrustContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the chain and the host name
    if sys.version_info >= (3, 13):  # create_default_context's stricter X.509 checks since 3.13
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN | ssl.VERIFY_X509_STRICT
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog and not sys.flags.ignore_environment:  # as create_default_context: a debugging aid
        context.keylog_filename = keylog
    return context
