"""Which wire formats this version speaks: the one table the server's wire registry and `cc-proxy
check` read. A translated format names its module, which has the surface of `engine.wire` (the
Anthropic format is relayed, engine.wire.anthropic). Adding a wire is one line here."""

from __future__ import annotations

TRANSLATED_WIRES: dict[str, str] = {
    "openai": "cc_proxy.engine.wire.openai",
    "openai-responses": "cc_proxy.engine.wire.responses",
    "gemini": "cc_proxy.engine.wire.gemini",
}


def wire_formats() -> tuple[str, ...]:
    return ("anthropic", *TRANSLATED_WIRES)
