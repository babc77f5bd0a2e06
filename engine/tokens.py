"""Input-token estimate of an Anthropic Messages request, with a per-block cache.

The encoder is injected (the server builds tiktoken's cl100k_base once): the engine does no I/O. Claude
Code resends the same system prompt, tool definitions and history every turn, so each costly piece of
text is counted once and remembered, keyed by the text itself, in a bounded cache owned by the instance.
The estimate is an approximation of Anthropic's own tokenizer (cl100k is close, not exact).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson
from cc_proxy.engine.image_size import image_tokens

# Per-message and per-tool framing the API adds around content (roles, separators, tool wrappers).
MESSAGE_OVERHEAD = 3
TOOL_OVERHEAD = 8
REQUEST_OVERHEAD = 3
# A server tool (`web_search_...`) costs a few hundred tokens of hidden definition upstream.
SERVER_TOOL_TOKENS = 300
# With tools, Anthropic adds a tool-use system prompt: 346 tokens (313 when tool_choice is any/tool).
TOOL_USE_PROMPT_TOKENS = 346
TOOL_USE_PROMPT_TOKENS_FORCED = 313
# Texts shorter than this are counted directly: caching them would cost as much as encoding.
MIN_CACHED_CHARS = 32
# tool_result content nests blocks; real requests nest 2 deep. Deeper (hostile) nesting is not
# walked, so a body of ~500 nested levels cannot exhaust the interpreter stack.
MAX_NESTING = 16


class TokenEstimator:
    """`count(request) -> int`. Not thread-safe by design: one instance per event loop."""

    __slots__ = ("_cache", "_cached_chars", "_encode_len", "max_chars", "max_entries")

    def __init__(
        self,
        encode_len: Callable[[str], int],
        max_entries: int = 8192,
        max_chars: int = 16_000_000,
    ) -> None:
        self._encode_len = encode_len
        self.max_entries = max_entries
        self.max_chars = max_chars  # bounds memory: the keys are the texts themselves
        self._cache: dict[str, int] = {}
        self._cached_chars = 0

    @property
    def cache_size(self) -> int:
        return len(self._cache)

    def text(self, text: str) -> int:
        """Tokens of one text, through the cache."""
        if len(text) < MIN_CACHED_CHARS:
            return self._encode_len(text) if text else 0
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        count = self._encode_len(text)
        self._remember(text, count)
        return count

    def _remember(self, text: str, count: int) -> None:
        if len(text) > self.max_chars:
            return
        cache = self._cache
        cache[text] = count
        self._cached_chars += len(text)
        # Oldest first: a conversation's prefix is re-inserted each turn only when evicted, and entries
        # from finished conversations age out.
        while len(cache) > self.max_entries or self._cached_chars > self.max_chars:
            oldest = next(iter(cache))
            self._cached_chars -= len(oldest)
            del cache[oldest]

    def _json(self, value: Any) -> int:
        if isinstance(value, str):
            return self.text(value)
        try:
            return self.text(orjson.dumps(value).decode())
        except TypeError:  # nested beyond orjson's limit, or not JSON (cannot come from a parsed body)
            return 0

    def count(self, request: Mapping[str, Any]) -> int:
        total = REQUEST_OVERHEAD + self.content(request.get("system"))
        messages = request.get("messages")
        if isinstance(messages, list):
            for message in messages:
                if not isinstance(message, dict):
                    continue
                total += MESSAGE_OVERHEAD + self.content(message.get("content"))
        tools = request.get("tools")
        if isinstance(tools, list) and tools:
            for tool in tools:
                if isinstance(tool, dict):
                    total += self.tool(tool)
            choice = request.get("tool_choice")
            forced = isinstance(choice, dict) and choice.get("type") in ("any", "tool")
            total += TOOL_USE_PROMPT_TOKENS_FORCED if forced else TOOL_USE_PROMPT_TOKENS
        return total

    def content(self, value: Any) -> int:
        """`system` or a message's `content`: a string, or a list of blocks (anything else: 0)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return self.blocks(value)
        return 0

    def tool(self, tool: Mapping[str, Any]) -> int:
        kind = tool.get("type")
        if kind is not None and kind != "custom":
            return SERVER_TOOL_TOKENS
        total = TOOL_OVERHEAD
        name = tool.get("name")
        if isinstance(name, str):
            total += self.text(name)
        description = tool.get("description")
        if isinstance(description, str):
            total += self.text(description)
        schema = tool.get("input_schema")
        if schema is not None:
            total += self._json(schema)
        return total

    def blocks(self, blocks: Iterable[Any], depth: int = 0) -> int:
        if depth > MAX_NESTING:
            return 0
        total = 0
        for block in blocks:
            if isinstance(block, str):
                total += self.text(block)
            elif isinstance(block, dict):
                total += self.block(block, depth)
        return total

    def block(self, block: Mapping[str, Any], depth: int = 0) -> int:
        kind = block.get("type")
        if kind == "text":
            text = block.get("text")
            return self.text(text) if isinstance(text, str) else 0
        if kind == "tool_use" or kind == "server_tool_use":
            name = block.get("name")
            return (self.text(name) if isinstance(name, str) else 0) + self._json(block.get("input", {}))
        if kind == "tool_result" or kind == "web_search_tool_result":
            content = block.get("content")
            if isinstance(content, str):
                return self.text(content)
            if isinstance(content, list):
                return self.blocks(content, depth + 1)
            return 0 if content is None or depth > MAX_NESTING else self._json(content)
        if kind == "thinking":
            thinking = block.get("thinking")
            return self.text(thinking) if isinstance(thinking, str) else 0
        if kind == "redacted_thinking":
            # Opaque encrypted payload: roughly one token per 4 characters, without encoding it.
            data = block.get("data")
            return len(data) // 4 if isinstance(data, str) else 0
        if kind == "image":
            return image_tokens(block.get("source"))
        if kind == "document":
            return self._document(block)
        if kind == "tool_reference":
            name = block.get("tool_name")
            return self.text(name) if isinstance(name, str) else 1
        # Anything else (search_result, container_upload, future types): its JSON text.
        return self._json(block) if depth <= MAX_NESTING else 0

    def _document(self, block: Mapping[str, Any]) -> int:
        source = block.get("source")
        if isinstance(source, dict):
            data = source.get("data")
            if source.get("type") == "text" and isinstance(data, str):
                return self.text(data)
            if source.get("type") == "content" and isinstance(source.get("content"), list):
                return self.blocks(source["content"], 1)
            if isinstance(data, str):
                # base64 PDF: ~1,500-3,000 tokens per page; without parsing, ~1 token per 3 bytes.
                return len(data) * 3 // 4 // 3
        return 1600
