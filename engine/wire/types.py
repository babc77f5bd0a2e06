"""Values shared by every wire module and the server: upstream requests, SSE events, context."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cc_proxy.engine.snapshot import ResolvedModel

if TYPE_CHECKING:
    from cc_proxy.engine.wire.tool_repair import ToolRepair


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One server-sent event. `event` None means the default `message` type (OpenAI streams)."""

    data: str
    event: str | None = None


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    """What to send: the server joins `path` to the provider's base_url and adds the credential."""

    path: str  # e.g. "/v1/messages", "/chat/completions"
    headers: dict[str, str]  # never the credential
    body: bytes
    stream: bool


@dataclass(slots=True)
class UsageNote:
    """What an answer's Anthropic-form usage cannot say, noted by the response translator once, when it
    writes the final usage: the upstream's reasoning tokens (already inside output) and whether the
    upstream reported no usage at all (the counts are then the proxy's estimate). Read by the recorder."""

    reasoning: int = 0
    estimated: bool = False

    def note(self, reasoning: Any, estimated: bool) -> None:
        self.reasoning = reasoning if type(reasoning) is int and reasoning > 0 else 0
        self.estimated = estimated


@dataclass(frozen=True, slots=True)
class TranslationContext:
    """Per-request facts the response translators need. `new_id` is injected so tests are exact."""

    requested_model: str  # what the client asked for
    target: ResolvedModel
    response_model: str  # the model name to put in answers (requested or upstream, per config)
    new_id: Callable[[str], str]  # prefix -> fresh id, e.g. "msg_" -> "msg_01..."
    input_tokens_estimate: int = 0  # used when an upstream reports no usage
    stop_sequences: tuple[str, ...] = field(default=())
    # Computes the estimate on first need instead (token counting is the costly part); wins when set.
    count_input_tokens: Callable[[], int] | None = None
    # A cheap figure for a stream's message_start, before the upstream's own usage arrives (it follows
    # in message_delta); None: message_start carries `input_tokens()`.
    early_input_tokens: Callable[[], int] | None = None
    # The answer's `context_management` (`{"applied_edits": [...]}`) when the proxy applied the edits
    # (engine.emulate): added to the message, or to a stream's message_delta, as the API does.
    context_management: Mapping[str, Any] | None = None
    # `thinking.display: "omitted"`: thinking blocks go back empty, their text inside our signature.
    omit_thinking: bool = False
    # Set when the target's profile repairs tool calls (translated wires only): the request's tools.
    tool_repair: ToolRepair | None = None
    usage_note: UsageNote = field(default_factory=UsageNote)  # the one mutable part: set at the answer's end

    def input_tokens(self) -> int:
        """The input-token estimate: `count_input_tokens()` when given, else `input_tokens_estimate`."""
        count = self.count_input_tokens
        return count() if count is not None else self.input_tokens_estimate

    def start_input_tokens(self) -> int:
        """What message_start reports: the cheap early figure when there is one."""
        early = self.early_input_tokens
        return early() if early is not None else self.input_tokens()
