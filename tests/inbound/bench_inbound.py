"""What the OpenAI front doors add per request and per stream event, beside what an Anthropic client's
request costs on the same body size.

Not a test (no timed assertions): run `python -m tests.inbound.bench_inbound` from the repository root.
The per-request figures compare the extra work of an OpenAI client to an OpenAI-format target
(normalise once, decide, carry the rewrite back onto the client's body) with an Anthropic client's
(check the body): both parse the same bytes first, which is left out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson

from cc_proxy.engine.inbound.chat_request import normalise_chat
from cc_proxy.engine.inbound.chat_stream import ChatStreamRenderer
from cc_proxy.engine.inbound.native import native_body
from cc_proxy.engine.inbound.native_stream import NativeStream
from cc_proxy.engine.inbound.responses_stream import ResponsesStreamRenderer
from cc_proxy.engine.profiles import BUILTIN_PROFILES
from cc_proxy.engine.snapshot import ApiKey, ResolvedModel, ResolvedProvider
from cc_proxy.engine.wire.anthropic import build_request as build_anthropic
from cc_proxy.server.request_body import check_messages_request
from tests.fakes import anthropic_stream as A
from tests.fakes import openai_stream as O

FIELDS = ("max_completion_tokens", "max_tokens")


def _time(label: str, fn: Callable[[], object], per: int = 1, unit: str = "request", rounds: int = 200) -> float:
    fn()
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(rounds):
            fn()
        best = min(best, (time.perf_counter() - t0) / rounds)
    print(f"{label:62s} {best / per * 1e6:8.2f} us/{unit}")
    return best


def _conversation(turns: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same agent conversation (~4 KB a turn) as a Chat Completions and as a Messages request."""
    tool = {"type": "function", "function": {"name": "Read", "parameters": {"type": "object", "properties": {}}}}
    chat: list[dict[str, Any]] = [{"role": "system", "content": "You are a coding agent. " * 200}]
    anthropic: list[dict[str, Any]] = []
    for i in range(turns):
        text = f"step {i}: " + "look at the code and explain it. " * 100
        call = {"id": f"call_{i}", "type": "function", "function": {"name": "Read", "arguments": '{"path": "a.py"}'}}
        chat += [
            {"role": "user", "content": text},
            {"role": "assistant", "content": "Reading.", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": f"call_{i}", "content": "x = 1\n" * 200},
        ]
        use = {"type": "tool_use", "id": f"call_{i}", "name": "Read", "input": {"path": "a.py"}}
        result = {"type": "tool_result", "tool_use_id": f"call_{i}", "content": "x = 1\n" * 200}
        anthropic += [
            {"role": "user", "content": text},
            {"role": "assistant", "content": [{"type": "text", "text": "Reading."}, use]},
            {"role": "user", "content": [result]},
        ]
    chat_body = {"model": "gpt", "messages": chat, "tools": [tool] * 10, "stream": True}
    tools = [{"name": "Read", "input_schema": {"type": "object", "properties": {}}}] * 10
    anthropic_body = {"model": "gpt", "max_tokens": 8192, "system": chat[0]["content"], "messages": anthropic}
    return chat_body, {**anthropic_body, "tools": tools, "stream": True}


def main() -> None:
    provider = ResolvedProvider("p", "openai", "http://x", ApiKey("none"), {}, BUILTIN_PROFILES["openai"])
    target = ResolvedModel("m", provider, "gpt-upstream")
    anthropic_provider = ResolvedProvider(
        "a", "anthropic", "http://x", ApiKey("none"), {}, BUILTIN_PROFILES["anthropic"]
    )
    anthropic_target = ResolvedModel("a", anthropic_provider, "claude-upstream")
    chat_body, anthropic_body = _conversation(30)
    # as the server has them: parsed by orjson and checked by serialising once (server/request_body.py)
    raw, anthropic_raw = orjson.dumps(chat_body), orjson.dumps(anthropic_body)
    chat, anthropic = orjson.loads(raw), orjson.loads(anthropic_raw)
    orjson.dumps(chat), orjson.dumps(anthropic)
    print(f"Chat Completions body {len(raw)} bytes, Messages body {len(anthropic_raw)} bytes")

    def anthropic_path() -> object:
        check_messages_request(anthropic)
        return build_anthropic(anthropic_target, {**anthropic, "model": "claude-upstream"}, {})

    def openai_path() -> object:
        normalised = normalise_chat(chat).request
        rewritten = {**normalised, "model": "gpt-upstream"}
        return native_body(raw, chat, normalised, rewritten, target, max_tokens_fields=FIELDS, stop_field="stop")

    a = _time("Anthropic client, Anthropic target: check + build the upstream body", anthropic_path)
    o = _time("OpenAI client, OpenAI target: normalise + carry the rewrite back", openai_path)
    print(f"{'difference':62s} {(o - a) * 1e6:8.2f} us/request")
    _time("  of which normalise_chat", lambda: normalise_chat(chat))

    msg = A.message(
        A.thinking("Let me think about the file layout first. " * 25),
        A.text("Here is what I found in the repository, step by step. " * 40),
        A.tool_use("Edit", {"file_path": "/src/app.py", "old_string": "x = 1\n" * 30, "new_string": "x = 2\n" * 30}),
    )
    chunks = A.message_stream(msg, pieces=100)
    n = len(chunks)

    def render(make: Callable[[], Any]) -> Callable[[], object]:
        def run() -> object:
            renderer = make()
            return [renderer.feed(c) for c in chunks]

        return run

    _time("Anthropic stream -> Chat Completions chunks", render(lambda: ChatStreamRenderer(0, True)), n, "event")
    _time("Anthropic stream -> Responses events", render(lambda: ResponsesStreamRenderer(0, {})), n, "event")
    openai_chunks = O.chat_stream(content=["Here is what I found. "] * 300)
    m = len(openai_chunks)

    def relay(model: str | None) -> Callable[[], object]:
        def run() -> object:
            stream = NativeStream(model)
            return [stream.feed(c) for c in openai_chunks]

        return run

    _time("OpenAI stream relayed to an OpenAI client, model kept", relay(None), m, "event")
    _time("OpenAI stream relayed to an OpenAI client, model renamed", relay("gpt-4o"), m, "event")


if __name__ == "__main__":
    main()
