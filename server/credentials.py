"""Which credential an upstream request carries. The only place a provider key meets a header.

The client's own key reaches a provider only when that provider's api_key is "forward"; otherwise the
provider's configured key replaces it. Values never leave this module except inside request headers.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from cc_proxy.engine.errors import ProxyError
from cc_proxy.engine.snapshot import ApiKey, ResolvedProvider

# Anthropic itself takes `x-api-key`; the Anthropic-format endpoints of DeepSeek, Kimi, GLM and MiniMax
# document `authorization: Bearer` (ANTHROPIC_AUTH_TOKEN); OpenAI-format providers take Bearer. A profile
# may name the header (`api_key_header`): Google AI's Gemini API takes `x-goog-api-key`, Vertex AI Bearer.
_X_API_KEY_PROFILES = frozenset({"anthropic"})


def uses_x_api_key(provider: ResolvedProvider) -> bool:
    return provider.format == "anthropic" and (
        provider.profile.name in _X_API_KEY_PROFILES or "api.anthropic.com" in provider.base_url
    )


def credential_headers(
    provider: ResolvedProvider,
    client_headers: Mapping[str, str],
    proxy_token: str | None,
    key: ApiKey | None = None,
) -> dict[str, str]:
    """Headers that authenticate the proxy to `provider` (with `key`, one of its pool, when given);
    raises ProxyError when none is configured."""
    key = key or provider.api_key
    if key.kind == "none":
        return {}
    if key.kind == "forward":
        return _forwarded(client_headers, proxy_token)
    if not key.value:
        where = f"environment variable {key.env_name} is not set" if key.env_name else "no api_key configured"
        raise ProxyError(
            500,
            f"provider {provider.name!r} has no API key ({where}); set it or route elsewhere",
            should_retry=False,
        )
    header = provider.profile.api_key_header  # Gemini: x-goog-api-key, never the URL's ?key=
    if header == "authorization" or (header is None and not uses_x_api_key(provider)):
        return {"authorization": f"Bearer {key.value}"}
    return {header or "x-api-key": key.value}


def _forwarded(client_headers: Mapping[str, str], proxy_token: str | None) -> dict[str, str]:
    """The client's own key, as it was sent, except a value that is the proxy's own token."""
    out: dict[str, str] = {}
    api_key = client_headers.get("x-api-key")
    if api_key and not _is_token(api_key, proxy_token):
        out["x-api-key"] = api_key
    authorization = client_headers.get("authorization")
    if authorization:
        bearer = authorization[7:].strip() if authorization[:7].lower() == "bearer " else ""
        if not _is_token(bearer, proxy_token):
            out["authorization"] = authorization
    return out


def _is_token(value: str, proxy_token: str | None) -> bool:
    return bool(proxy_token) and hmac.compare_digest(value.encode(), (proxy_token or "").encode())
