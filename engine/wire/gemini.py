"""Gemini generateContent dialect: the surface every wire module exposes (see `engine.wire`).

- `build_request(target, request, client_headers) -> UpstreamRequest`: `engine.wire.gemini_request`
- `translate_response(body, ctx) -> dict`: `engine.wire.gemini_response`
- `StreamTranslator(ctx)`: `engine.wire.gemini_stream`
- `retry_after(body) -> float | None`: the wait a Gemini error's `google.rpc.RetryInfo` asks for
Thought signatures and call ids round trip through the client: `engine.wire.gemini_signatures`.
"""

from __future__ import annotations

from cc_proxy.engine.wire.gemini_errors import retry_after
from cc_proxy.engine.wire.gemini_request import build_request
from cc_proxy.engine.wire.gemini_response import translate_response
from cc_proxy.engine.wire.gemini_stream import StreamTranslator

__all__ = ["StreamTranslator", "build_request", "retry_after", "translate_response"]
