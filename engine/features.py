"""What routing rules look at, computed lazily from one request: each feature is derived on first use.

Token counting is the only costly feature; it runs only when a rule asks (`tokens` condition) or a
caller (`cc-proxy explain`, count_tokens) requests it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from cc_proxy.engine.claude_code import is_subagent, request_kind, session_id
from cc_proxy.engine.tokens import REQUEST_OVERHEAD, SERVER_TOOL_TOKENS, TOOL_USE_PROMPT_TOKENS, TokenEstimator

_THINKING_ON = frozenset({"enabled", "adaptive"})
_CLIENT_TOOL_TYPES = frozenset({"custom"})


# tool_result content nests blocks (2 deep in practice); hostile nesting is not walked further.
MAX_NESTING = 16


def _has_image(blocks: list[Any]) -> bool:
    stack: list[tuple[list[Any], int]] = [(blocks, 0)]
    while stack:
        items, depth = stack.pop()
        for block in items:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "image":
                return True
            inner = block.get("content")  # tool_result (and search results) nest blocks
            if isinstance(inner, list) and depth < MAX_NESTING:
                stack.append((inner, depth + 1))
    return False


class Features:
    """Lazily computed request features. `estimator` None: token counts are unavailable (0)."""

    __slots__ = (
        "_client_tools",
        "_estimator",
        "_images",
        "_kind",
        "_server_tools",
        "_session",
        "_size",
        "_subagent",
        "_tokens",
        "headers",
        "request",
    )

    def __init__(
        self,
        request: Mapping[str, Any],
        headers: Mapping[str, str],
        estimator: TokenEstimator | None,
        size: int | None = None,
    ) -> None:
        self.request = request
        self.headers = headers
        self._estimator = estimator
        self._size = size
        self._tokens: int | None = None
        self._client_tools: tuple[str, ...] | None = None
        self._server_tools: tuple[str, ...] | None = None
        self._images: bool | None = None
        self._session: str | None = None
        self._subagent: bool | None = None
        self._kind: str | None = None

    @property
    def estimator(self) -> TokenEstimator | None:
        return self._estimator

    @property
    def session_id(self) -> str:
        """Claude Code's session id ("" when the request carries none): engine.claude_code."""
        if self._session is None:
            self._session = session_id(self.request, self.headers)
        return self._session

    @property
    def subagent(self) -> bool:
        """A Claude Code subagent's turn (x-claude-code-agent-id, or cc_is_subagent in the billing line)."""
        if self._subagent is None:
            self._subagent = is_subagent(self.request, self.headers)
        return self._subagent

    @property
    def kind(self) -> str:
        """What the request is for: main, compaction or side (engine.claude_code.request_kind)."""
        if self._kind is None:
            self._kind = request_kind(self.request)
        return self._kind

    @property
    def tokens(self) -> int:
        """Estimated input tokens (computed on first access, then cached)."""
        if self._tokens is None:
            self._tokens = self._estimator.count(self.request) if self._estimator is not None else 0
        return self._tokens

    @property
    def tokens_computed(self) -> bool:
        return self._tokens is not None

    def tokens_below(self, limit: int) -> bool:
        """Whether the estimate is below `limit`, counted only when the size cannot tell: the request's
        size in bytes, plus the fixed prompts counted on top of its text (tool use, server tools), bounds it."""
        if self._tokens is not None:
            return self._tokens < limit
        if self._size is None:  # the caller did not say (explain, tests): measure it, still cheaper than a count
            self._size = len(orjson.dumps(self.request))
        fixed = TOOL_USE_PROMPT_TOKENS + SERVER_TOOL_TOKENS * len(self.server_tool_types) + REQUEST_OVERHEAD
        return self._size + fixed < limit or self.tokens < limit

    @property
    def model(self) -> str:
        model = self.request.get("model")
        return model if isinstance(model, str) else ""

    @property
    def thinking(self) -> bool:
        thinking = self.request.get("thinking")
        if not isinstance(thinking, dict):
            return False
        kind = thinking.get("type")
        return isinstance(kind, str) and kind in _THINKING_ON

    @property
    def stream(self) -> bool:
        return self.request.get("stream") is True

    def _split_tools(self) -> None:
        client: list[str] = []
        server: list[str] = []
        tools = self.request.get("tools")
        if isinstance(tools, list):
            for tool in tools:
                if not isinstance(tool, dict):
                    continue
                kind = tool.get("type")
                if kind is None or (isinstance(kind, str) and kind in _CLIENT_TOOL_TYPES):
                    name = tool.get("name")
                    if isinstance(name, str):
                        client.append(name)
                elif isinstance(kind, str):
                    server.append(kind)
        self._client_tools = tuple(client)
        self._server_tools = tuple(server)

    @property
    def tool_names(self) -> tuple[str, ...]:
        """Names of client tools (no `type`, or `type: custom`)."""
        if self._client_tools is None:
            self._split_tools()
        assert self._client_tools is not None
        return self._client_tools

    @property
    def server_tool_types(self) -> tuple[str, ...]:
        """`type` of every server tool, e.g. `web_search_20250305`."""
        if self._server_tools is None:
            self._split_tools()
        assert self._server_tools is not None
        return self._server_tools

    @property
    def has_tools(self) -> bool:
        return bool(self.tool_names or self.server_tool_types)

    @property
    def images(self) -> bool:
        """An image block anywhere in the messages, also nested in `tool_result` content."""
        if self._images is None:
            found = False
            messages = self.request.get("messages")
            if isinstance(messages, list):
                for message in messages:
                    content = message.get("content") if isinstance(message, dict) else None
                    if isinstance(content, list) and _has_image(content):
                        found = True
                        break
            self._images = found
        return self._images

    def summary(self, *, tokens: bool = True) -> dict[str, Any]:
        """Every feature as plain JSON (for `explain` and logs); `tokens=False` skips the costly one."""
        out: dict[str, Any] = {}
        if tokens or self.tokens_computed:
            out["tokens"] = self.tokens
        out.update(
            model=self.model,
            thinking=self.thinking,
            stream=self.stream,
            tools=list(self.tool_names),
            server_tools=list(self.server_tool_types),
            images=self.images,
            session_id=self.session_id,
            subagent=self.subagent,
            kind=self.kind,
        )
        return out
