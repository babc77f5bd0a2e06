"""Wire formats: one module per upstream dialect, the same surface in each.

Every dialect module exposes:
- ``build_request(target, request, headers) -> UpstreamRequest``: path, headers (no secret: the server
  adds the key), body bytes;
- ``translate_response(body, ctx) -> dict``: upstream JSON answer -> Anthropic message;
- ``StreamTranslator(ctx)``: ``feed(event) -> list[SSEEvent]``, ``finish() -> list[SSEEvent]``;
  synchronous, exact block indexes, never a fabricated ``message_stop``.
"""
