"""Provider capability profiles: what an upstream accepts, as data rather than branches in code.

A profile is chosen per provider by name (`"profile": "deepseek"`) or inline
(`{"extends": "openai", ...overrides}`); the loader builds the inline one with `dataclasses.replace`.
Add fields with defaults only: the config schema for inline profiles is derived from this class.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

WireFormat = Literal["anthropic", "openai", "openai-responses", "gemini"]

# Client headers that identify Claude Code itself; forwarded only where a profile allows.
CLIENT_FINGERPRINT_HEADERS: tuple[str, ...] = (
    "user-agent",
    "x-app",
    "x-stainless-*",
    "x-claude-code-*",
    "anthropic-dangerous-direct-browser-access",
)


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    format: WireFormat
    # Client request headers forwarded upstream (lower-case globs). Auth and hop-by-hop headers never are.
    forward_headers: tuple[str, ...] = ()
    # `anthropic-beta` values forwarded (globs); None = all of them verbatim.
    beta_allow: tuple[str, ...] | None = None
    # Top-level Anthropic request fields removed before sending (anthropic format).
    drop_fields: tuple[str, ...] = ()
    # Remove `cache_control` from every block, tool and system entry.
    strip_cache_control: bool = False
    # Tool-definition fields removed (e.g. `defer_loading`, `strict`, `eager_input_streaming`).
    drop_tool_fields: tuple[str, ...] = ()
    # Mid-conversation `role: "system"` messages (Claude Code 2.1.332 sends one after the first user
    # turn): "keep" them, or fold their text into the top-level `system` for endpoints that only know
    # user/assistant turns.
    system_messages: Literal["keep", "to_system"] = "keep"
    # --- OpenAI Chat Completions dialect ---
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    # Where thinking/effort goes: "reasoning_effort" (OpenAI, Ollama, vLLM, llama.cpp),
    # "reasoning" (OpenRouter's object), "thinking" (DeepSeek's toggle + reasoning_effort), "none".
    reasoning_request: Literal["reasoning_effort", "reasoning", "thinking", "none"] = "reasoning_effort"
    # Response fields that carry reasoning text, first present wins.
    reasoning_response_fields: tuple[str, ...] = ("reasoning_content", "reasoning")
    # Name of the assistant-message field reasoning is sent back in (None: never sent back).
    reasoning_echo_field: str | None = None
    system_role: Literal["system", "developer"] = "system"
    stream_usage: bool = True  # send stream_options.include_usage
    send_user: bool = True  # metadata.user_id -> user
    send_parallel_tool_calls: bool = True
    # OpenAI-dialect request fields the upstream rejects (e.g. Groq: logprobs, logit_bias).
    reject_fields: tuple[str, ...] = ()
    # Split inline <think>...</think> in content into a thinking block.
    split_think_tags: bool = False
    # Reasoning effort levels the upstream accepts, lowest first; a requested level is clipped to the
    # highest accepted one not above it (Anthropic order: minimal < low < medium < high < xhigh < max).
    reasoning_efforts: tuple[str, ...] = ("low", "medium", "high")
    # Sent on an assistant tool-call message that has no reasoning to echo (DeepSeek V4 rejects "").
    reasoning_echo_placeholder: str | None = None
    # JSON Schema keywords removed from tool parameters (never inside a `properties` map).
    schema_drop_keywords: tuple[str, ...] = ("$schema",)
    send_top_k: bool = False  # Anthropic `top_k` understood (vLLM, llama.cpp, OpenRouter)
    # System messages accepted mid-conversation (Claude Code sends one); False: they are appended to
    # the leading system message (chat templates of local servers often reject a later one).
    inline_system_messages: bool = True
    # Tool-call ids the upstream accepts: "any", or "alnum9" (Mistral: exactly 9 letters/digits; other
    # ids in the history are mapped to a stable hash).
    tool_id_format: Literal["any", "alnum9"] = "any"
    max_stop_sequences: int | None = None  # OpenAI accepts at most 4 `stop` entries
    # --- OpenAI Responses dialect (also uses reasoning_efforts, reject_fields, schema_drop_keywords,
    # send_user) ---
    # Function tools (and text.format) are sent `strict: true` when their schema qualifies for
    # OpenAI's strict mode (every object closed, every property required); otherwise `strict: false`.
    # Chat Completions: the structured output's `response_format.json_schema` only.
    strict_tools: bool = False
    # `reasoning.summary` requested with thinking on (None: not requested, thinking blocks stay empty).
    reasoning_summary: Literal["auto", "concise", "detailed"] | None = "auto"
    # The output limit is raised to at least this (OpenAI 400s on a max_output_tokens below 16).
    min_output_tokens: int = 0
    # --- what the proxy does for upstreams that lack an Anthropic API feature (engine/emulate) ---
    # The upstream itself hides `defer_loading` tools and expands `tool_reference` blocks (tool search).
    tool_search_native: bool = False
    # Otherwise: deferred tools stay hidden until a `tool_reference` loads them; False sends them all.
    defer_tools: bool = True
    # `context_management.edits` types the upstream applies itself; the proxy applies the others it knows.
    native_context_edits: tuple[str, ...] = ()
    # The upstream answers Claude Code's auto-mode `safeguards` itself (else the field is dropped, noted).
    safeguards_native: bool = False
    # `anthropic-beta` values never forwarded (globs), even where `beta_allow` lets them through.
    beta_reject: tuple[str, ...] = ()
    # OpenAI-dialect fields that get Claude Code's session id (`prompt_cache_key`: prompt caches hit
    # across a session; `user`), unless a rule or the model's params set them.
    session_fields: tuple[str, ...] = ()
    # PDF `document` blocks are accepted as files (Anthropic documents, OpenAI `file` parts, Gemini inline
    # data); False: the proxy sends their extracted text instead (engine/emulate/documents.py).
    pdf_files: bool = True
    # --- Gemini generateContent ---
    # Path of a model under base_url: Google AI "/v1beta/models/" (base https://generativelanguage.googleapis.com);
    # Vertex AI "/models/" under a base URL that ends in .../locations/{location}/publishers/google.
    model_path_prefix: str = "/v1beta/models/"
    # How the key is sent for this format: Google AI takes `x-goog-api-key`, Vertex AI a Bearer token.
    api_key_header: Literal["authorization", "x-api-key", "x-goog-api-key"] | None = None
    # Tool schemas as `parameters` (the OpenAPI subset: unknown keywords removed, $ref inlined) or as
    # `parametersJsonSchema` (JSON Schema as is, minus schema_drop_keywords; Gemini 2.5 and later).
    tool_schema_field: Literal["parameters", "parametersJsonSchema"] = "parameters"
    # Anthropic thinking -> `thinkingConfig`: a token "budget" (Gemini 2.5) or a "level" (Gemini 3,
    # from the effort clipped to reasoning_efforts).
    thinking_config: Literal["budget", "level"] = "budget"
    # A 429 without retry-after, once no other key of the provider's pool is ready: "fallback" (the
    # route's fallbacks, else the client: a spend limit or quota rarely clears in seconds) or "backoff"
    # (one short jittered retry per attempt, for upstreams whose 429s are brief bursts).
    rate_limit_retry: Literal["fallback", "backoff"] = "fallback"
    # Tool-call repair (engine/wire/tool_repair.py) on translated answers: a streamed tool_use block's
    # input is then held to the block's end and sent, repaired, as one input_json_delta.
    repair_tool_calls: bool = False


_ANTHROPIC = Profile(
    name="anthropic",
    format="anthropic",
    forward_headers=("anthropic-version", "anthropic-beta", "anthropic-workspace-id", *CLIENT_FINGERPRINT_HEADERS),
    tool_search_native=True,
    native_context_edits=("clear_thinking_20251015", "clear_tool_uses_20250919", "compact_20260112"),
    safeguards_native=True,
)

# Third-party Anthropic-format endpoints (DeepSeek, Kimi, GLM, MiniMax, Ollama): they reject betas
# they do not know and the body fields those betas pair with.
_ANTHROPIC_COMPATIBLE = Profile(
    name="anthropic-compatible",
    format="anthropic",
    forward_headers=("anthropic-version",),
    beta_allow=(),
    drop_fields=("context_management", "output_config", "safeguards", "container", "mcp_servers"),
    drop_tool_fields=("defer_loading", "strict", "eager_input_streaming", "input_examples"),
    system_messages="to_system",
    pdf_files=False,
)

_OPENAI = Profile(
    name="openai",
    format="openai",
    max_tokens_field="max_completion_tokens",
    system_role="developer",
    max_stop_sequences=4,
    repair_tool_calls=True,  # weak OpenAI-dialect models send arguments that are not JSON or off-schema
)

# OpenAI's Responses API (/v1/responses: GPT-5 Codex models are served only there). Reasoning models
# reject sampling parameters.
_OPENAI_RESPONSES = Profile(
    name="openai-responses",
    format="openai-responses",
    strict_tools=True,
    reject_fields=("temperature", "top_p"),
    min_output_tokens=16,
)

# Gemini's native API (engine.wire.gemini): Anthropic-only fields are never translated. The keys the
# OpenAI-dialect profiles set for Claude Code's requests are set alike (system messages folded, at most
# 5 stop sequences), so steps driven by profile data treat Gemini targets the same way.
_GEMINI = Profile(
    name="gemini",
    format="gemini",
    system_messages="to_system",
    inline_system_messages=False,
    send_user=False,
    send_parallel_tool_calls=False,
    max_stop_sequences=5,
    api_key_header="x-goog-api-key",
)

BUILTIN_PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        _ANTHROPIC,
        _ANTHROPIC_COMPATIBLE,
        replace(_OPENAI, session_fields=("prompt_cache_key",), strict_tools=True),
        _OPENAI_RESPONSES,  # its wire sends the session id as prompt_cache_key itself
        _GEMINI,
        replace(_GEMINI, name="gemini-3", thinking_config="level", reasoning_efforts=("low", "high")),
        replace(_GEMINI, name="gemini-vertex", model_path_prefix="/models/", api_key_header="authorization"),
        replace(
            _OPENAI,
            name="openai-compatible",
            pdf_files=False,
            max_tokens_field="max_tokens",
            system_role="system",
            max_stop_sequences=None,
        ),
        replace(
            _OPENAI,
            name="openrouter",
            max_tokens_field="max_tokens",
            system_role="system",
            reasoning_request="reasoning",
            reasoning_response_fields=("reasoning", "reasoning_content"),
            reasoning_echo_field="reasoning_details",
            reasoning_efforts=("minimal", "low", "medium", "high", "xhigh"),
            send_top_k=True,
            max_stop_sequences=None,
        ),
        replace(
            _OPENAI,
            name="deepseek",
            pdf_files=False,
            max_tokens_field="max_tokens",
            system_role="system",
            reasoning_request="thinking",
            reasoning_response_fields=("reasoning_content",),
            reasoning_echo_field="reasoning_content",
            reasoning_echo_placeholder=" ",
            reasoning_efforts=("low", "medium", "high", "xhigh", "max"),
            send_parallel_tool_calls=False,
            max_stop_sequences=None,
        ),
        replace(
            _OPENAI,
            name="groq",
            pdf_files=False,
            max_tokens_field="max_tokens",
            system_role="system",
            reasoning_request="none",
            reasoning_response_fields=("reasoning",),
            send_user=False,
            reject_fields=("logprobs", "logit_bias", "top_logprobs"),
            max_stop_sequences=None,
        ),
        replace(
            _OPENAI,
            name="ollama",
            pdf_files=False,
            inline_system_messages=False,
            max_tokens_field="max_tokens",
            system_role="system",
            send_user=False,
            max_stop_sequences=None,
        ),
        replace(
            _OPENAI,
            name="vllm",
            pdf_files=False,
            inline_system_messages=False,
            max_tokens_field="max_tokens",
            system_role="system",
            reasoning_response_fields=("reasoning", "reasoning_content"),
            send_top_k=True,
            max_stop_sequences=None,
        ),
        replace(
            _OPENAI,
            name="llamacpp",
            pdf_files=False,
            inline_system_messages=False,
            max_tokens_field="max_tokens",
            system_role="system",
            reasoning_response_fields=("reasoning_content",),
            split_think_tags=True,
            send_top_k=True,
            max_stop_sequences=None,
        ),
    )
}
