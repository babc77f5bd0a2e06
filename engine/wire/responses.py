"""OpenAI Responses dialect (`"format": "openai-responses"`): the surface every wire module exposes.

- `build_request(target, request, client_headers) -> UpstreamRequest`: `engine.wire.responses_request`
- `translate_response(body, ctx) -> dict`: `engine.wire.responses_response`
- `StreamTranslator(ctx)`: `engine.wire.responses_stream`
Reasoning round trip (the encrypted reasoning item inside the thinking-block signature):
`engine.wire.reasoning`.
"""

from __future__ import annotations

from cc_proxy.engine.wire.responses_request import build_request
from cc_proxy.engine.wire.responses_response import translate_response
from cc_proxy.engine.wire.responses_stream import StreamTranslator

__all__ = ["StreamTranslator", "build_request", "translate_response"]
