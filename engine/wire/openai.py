"""OpenAI Chat Completions dialect: the surface every wire module exposes (see `engine.wire`).

- `build_request(target, request, client_headers) -> UpstreamRequest`: `engine.wire.openai_request`
- `translate_response(body, ctx) -> dict`: `engine.wire.openai_response`
- `StreamTranslator(ctx)`: `engine.wire.openai_stream`
Reasoning round trip and the thinking-block signature format: `engine.wire.reasoning`.
"""

from __future__ import annotations

from cc_proxy.engine.wire.openai_request import build_request
from cc_proxy.engine.wire.openai_response import RAW_ARGUMENTS_KEY, translate_response
from cc_proxy.engine.wire.openai_stream import StreamTranslator
from cc_proxy.engine.wire.reasoning import is_proxy_signature

__all__ = ["RAW_ARGUMENTS_KEY", "StreamTranslator", "build_request", "is_proxy_signature", "translate_response"]
