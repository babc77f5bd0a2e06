#!/usr/bin/env python3
"""Gemini and OpenAI Responses fake upstream for the shared load harness (loopback only, bench venv).

The shared harness's fake upstream (/work/shared/bench/fake_upstream.py) speaks only Anthropic Messages
and OpenAI Chat Completions. This one serves, on its own port:

  POST /v1beta/models/{model}:generateContent            Gemini, one GenerateContentResponse
  POST /v1beta/models/{model}:streamGenerateContent      Gemini, ?alt=sse stream (CRLF CRLF framing)
  POST /v1/responses                                     OpenAI Responses, JSON or the SSE event sequence
  POST /v1/messages                                      Anthropic Messages: the direct baseline
  GET  /_stats, POST /_stats/reset, GET /health

At start-up it asks the shared fake (--source) for one streamed Anthropic answer and learns from it the
text deltas, tool calls (name, id, argument pieces) and output tokens, so every dialect here gives the
SAME logical answer as the shared fake with whatever knobs it was started with. Input tokens are
len(body) // 4, as there. Gemini sends a functionCall whole (as the real API does), so its stream has
the text deltas plus one event per tool call; Responses and Anthropic stream the argument pieces.
No delay knobs: zero-delay runs only.

`/_stats` counts Gemini and Responses requests under "openai" too (loadgen sums "openai" + "anthropic"
to check every proxied request reached the upstream), and separately as "gemini" and "responses".

Run:  python bench/fake_upstream_extra.py --port 9101 --source http://127.0.0.1:9100
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

PROMPT_PH, TOTAL_PH, ID_PH, MODEL_PH = "__PROMPT__", "__TOTAL__", "__RID__", "__MODEL__"


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class Tool:
    id: str
    name: str
    pieces: list[str] = field(default_factory=list)

    @property
    def arguments(self) -> str:
        return "".join(self.pieces)


@dataclass
class Answer:
    """The logical answer, as learned from the shared fake's Anthropic stream."""

    text_pieces: list[str]
    tools: list[Tool]
    output_tokens: int

    @property
    def text(self) -> str:
        return "".join(self.text_pieces)


async def learn_answer(source: str) -> Answer:
    body = {"model": "bench-learn", "max_tokens": 16, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    pieces: list[str] = []
    tools: list[Tool] = []
    output_tokens = 0
    async with aiohttp.ClientSession() as session, session.post(source.rstrip("/") + "/v1/messages", json=body) as resp:
        resp.raise_for_status()
        raw = (await resp.read()).decode()
    for event in raw.split("\n\n"):
        data = next((line[6:] for line in event.splitlines() if line.startswith("data: ")), None)
        if data is None:
            continue
        ev = json.loads(data)
        if ev["type"] == "content_block_start" and ev["content_block"]["type"] == "tool_use":
            tools.append(Tool(ev["content_block"]["id"], ev["content_block"]["name"]))
        elif ev["type"] == "content_block_delta":
            delta = ev["delta"]
            if delta["type"] == "text_delta":
                pieces.append(delta["text"])
            elif delta["type"] == "input_json_delta":
                tools[-1].pieces.append(delta["partial_json"])
        elif ev["type"] == "message_delta":
            output_tokens = ev["usage"]["output_tokens"]
    return Answer(pieces, tools, output_tokens)


def sse(data: Any, event: str | None = None, crlf: bool = False) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + dumps(data) + (b"\r\n\r\n" if crlf else b"\n\n")


# ---------------------------------------------------------------- Gemini
def gemini_usage(answer: Answer) -> dict[str, Any]:
    return {"promptTokenCount": PROMPT_PH, "candidatesTokenCount": answer.output_tokens, "totalTokenCount": TOTAL_PH}


def gemini_event(parts: list[dict[str, Any]], answer: Answer, finish: str | None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {
        "candidates": [candidate],
        "usageMetadata": gemini_usage(answer),
        "modelVersion": MODEL_PH,
        "responseId": ID_PH,
    }


def gemini_templates(answer: Answer) -> tuple[bytes, list[bytes]]:
    calls = [{"functionCall": {"name": t.name, "args": json.loads(t.arguments)}} for t in answer.tools]
    whole = ([{"text": answer.text}] if answer.text else []) + calls
    body = dumps(gemini_event(whole, answer, "STOP"))
    parts: list[list[dict[str, Any]]] = [[{"text": p}] for p in answer.text_pieces] + [[c] for c in calls]
    stream = [
        sse(gemini_event(p, answer, "STOP" if i == len(parts) - 1 else None), crlf=True) for i, p in enumerate(parts)
    ]
    return body, stream


# ---------------------------------------------------------------- OpenAI Responses
def responses_templates(answer: Answer) -> tuple[bytes, list[bytes]]:
    msg_id = "msg_" + ID_PH
    usage = {
        "input_tokens": PROMPT_PH,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": answer.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": TOTAL_PH,
    }

    def message(status: str, text: str | None) -> dict[str, Any]:
        content = [] if text is None else [{"type": "output_text", "text": text, "annotations": []}]
        return {"id": msg_id, "type": "message", "status": status, "role": "assistant", "content": content}

    def call(i: int, tool: Tool, status: str, arguments: str) -> dict[str, Any]:
        return {
            "id": f"fc_{i}_{ID_PH}",
            "type": "function_call",
            "status": status,
            "call_id": tool.id,
            "name": tool.name,
            "arguments": arguments,
        }

    def resp(status: str, output: list[dict[str, Any]], with_usage: bool) -> dict[str, Any]:
        return {
            "id": "resp_" + ID_PH,
            "object": "response",
            "created_at": int(time.time()),
            "status": status,
            "model": MODEL_PH,
            "output": output,
            "usage": usage if with_usage else None,
        }

    output = ([message("completed", answer.text)] if answer.text else []) + [
        call(i, t, "completed", t.arguments) for i, t in enumerate(answer.tools)
    ]
    body = dumps(resp("completed", output, True))
    events: list[tuple[str, dict[str, Any]]] = [
        ("response.created", {"response": resp("in_progress", [], False)}),
        ("response.in_progress", {"response": resp("in_progress", [], False)}),
    ]
    index = 0
    if answer.text:
        part = {"type": "output_text", "text": "", "annotations": []}
        events += [
            ("response.output_item.added", {"output_index": 0, "item": message("in_progress", None)}),
            ("response.content_part.added", {"item_id": msg_id, "output_index": 0, "content_index": 0, "part": part}),
        ]
        events += [
            ("response.output_text.delta", {"item_id": msg_id, "output_index": 0, "content_index": 0, "delta": p})
            for p in answer.text_pieces
        ]
        done_part = {**part, "text": answer.text}
        events += [
            (
                "response.output_text.done",
                {"item_id": msg_id, "output_index": 0, "content_index": 0, "text": answer.text},
            ),
            (
                "response.content_part.done",
                {"item_id": msg_id, "output_index": 0, "content_index": 0, "part": done_part},
            ),
            ("response.output_item.done", {"output_index": 0, "item": message("completed", answer.text)}),
        ]
        index = 1
    for i, tool in enumerate(answer.tools):
        item_id = f"fc_{i}_{ID_PH}"
        events.append(("response.output_item.added", {"output_index": index, "item": call(i, tool, "in_progress", "")}))
        events += [
            ("response.function_call_arguments.delta", {"item_id": item_id, "output_index": index, "delta": p})
            for p in tool.pieces
        ]
        events += [
            (
                "response.function_call_arguments.done",
                {"item_id": item_id, "output_index": index, "arguments": tool.arguments},
            ),
            ("response.output_item.done", {"output_index": index, "item": call(i, tool, "completed", tool.arguments)}),
        ]
        index += 1
    events.append(("response.completed", {"response": resp("completed", output, True)}))
    stream = [sse({"type": name, "sequence_number": n, **data}, event=name) for n, (name, data) in enumerate(events)]
    return body, stream


# ---------------------------------------------------------------- Anthropic Messages (direct baseline)
def anthropic_templates(answer: Answer) -> tuple[bytes, list[bytes]]:
    stop = "tool_use" if answer.tools else "end_turn"
    usage = {"input_tokens": PROMPT_PH, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    content: list[dict[str, Any]] = [{"type": "text", "text": answer.text}] if answer.text else []
    content += [
        {"type": "tool_use", "id": t.id, "name": t.name, "input": json.loads(t.arguments)} for t in answer.tools
    ]
    message = {"id": "msg_" + ID_PH, "type": "message", "role": "assistant", "model": MODEL_PH, "stop_sequence": None}
    body = dumps(
        {**message, "content": content, "stop_reason": stop, "usage": {**usage, "output_tokens": answer.output_tokens}}
    )
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    events: list[tuple[str, dict[str, Any]]] = [("message_start", {"message": start})]
    index = 0
    if answer.text:
        events += [("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}), ("ping", {})]
        events += [
            ("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": p}})
            for p in answer.text_pieces
        ]
        events.append(("content_block_stop", {"index": 0}))
        index = 1
    for tool in answer.tools:
        block = {"type": "tool_use", "id": tool.id, "name": tool.name, "input": {}}
        events.append(("content_block_start", {"index": index, "content_block": block}))
        events += [
            ("content_block_delta", {"index": index, "delta": {"type": "input_json_delta", "partial_json": p}})
            for p in tool.pieces
        ]
        events.append(("content_block_stop", {"index": index}))
        index += 1
    events.append(
        (
            "message_delta",
            {"delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": answer.output_tokens}},
        )
    )
    events.append(("message_stop", {}))
    return body, [sse({"type": name, **data}, event=name) for name, data in events]


# ---------------------------------------------------------------- server
class ExtraUpstream:
    def __init__(self, answer: Answer):
        self.answer = answer
        self.templates = {
            "gemini": gemini_templates(answer),
            "responses": responses_templates(answer),
            "anthropic": anthropic_templates(answer),
        }
        self.ids = itertools.count(1)
        self.reset()

    def reset(self) -> None:
        self.stats: dict[str, Any] = {
            "openai": 0,
            "anthropic": 0,
            "gemini": 0,
            "responses": 0,
            "stream": 0,
            "invalid": 0,
        }
        self.stats.update(bytes_in=0, in_flight=0, max_in_flight=0)
        ru = resource.getrusage(resource.RUSAGE_SELF)
        self._cpu0 = ru.ru_utime + ru.ru_stime
        self._t0 = time.perf_counter()

    def fill(self, template: bytes, model: str, rid: str, prompt: int) -> bytes:
        total = prompt + self.answer.output_tokens
        out = template.replace(MODEL_PH.encode(), json.dumps(model)[1:-1].encode()).replace(
            ID_PH.encode(), rid.encode()
        )
        # The token placeholders sit in JSON strings: swap them, quotes included, for numbers.
        return out.replace(f'"{PROMPT_PH}"'.encode(), str(prompt).encode()).replace(
            f'"{TOTAL_PH}"'.encode(), str(total).encode()
        )

    async def serve(
        self, request: web.Request, dialect: str, model: str | None, stream: bool | None
    ) -> web.StreamResponse:
        self.stats["in_flight"] += 1
        self.stats["max_in_flight"] = max(self.stats["max_in_flight"], self.stats["in_flight"])
        try:
            raw = await request.read()
            self.stats["bytes_in"] += len(raw)
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if not isinstance(body, dict) or (dialect == "gemini" and not isinstance(body.get("contents"), list)):
                self.stats["invalid"] += 1
                return web.json_response({"error": {"message": f"invalid {dialect} request"}}, status=400)
            self.stats[dialect] += 1
            if dialect != "anthropic":
                self.stats["openai"] += 1
            model = model or str(body.get("model", "fake"))
            stream = bool(body.get("stream")) if stream is None else stream
            rid = f"bench{next(self.ids):08d}"
            prompt = max(1, len(raw) // 4)
            whole, events = self.templates[dialect]
            if not stream:
                return web.Response(body=self.fill(whole, model, rid, prompt), content_type="application/json")
            self.stats["stream"] += 1
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
            await resp.prepare(request)
            for event in events:
                await resp.write(self.fill(event, model, rid, prompt))
            await resp.write_eof()
            return resp
        finally:
            self.stats["in_flight"] -= 1

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/")
        if request.method == "POST":
            if path.startswith("/v1beta/models/") and ":" in path:
                model, _, method = path.removeprefix("/v1beta/models/").rpartition(":")
                if method in ("generateContent", "streamGenerateContent"):
                    return await self.serve(request, "gemini", model, method == "streamGenerateContent")
            if path.endswith("/responses"):
                return await self.serve(request, "responses", None, None)
            if path.endswith("/messages"):
                return await self.serve(request, "anthropic", None, None)
            if path == "/_stats/reset":
                self.reset()
                return web.Response(text="reset")
        elif request.method == "GET":
            if path in ("", "/health"):
                return web.Response(text="ok")
            if path == "/_stats":
                ru = resource.getrusage(resource.RUSAGE_SELF)
                cpu = round(ru.ru_utime + ru.ru_stime - self._cpu0, 4)
                return web.json_response(
                    {**self.stats, "cpu_s": cpu, "wall_s": round(time.perf_counter() - self._t0, 3)}
                )
        return web.json_response({"error": {"message": f"no route {request.method} {path}"}}, status=404)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9101)
    ap.add_argument(
        "--source", default="http://127.0.0.1:9100", help="the shared fake upstream to learn the answer from"
    )
    a = ap.parse_args(argv)
    if a.host not in ("127.0.0.1", "::1", "localhost") or not a.source.startswith(
        ("http://127.0.0.1", "http://localhost")
    ):
        ap.error("loopback only")
    answer = asyncio.run(learn_answer(a.source))
    up = ExtraUpstream(answer)
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", up.dispatch)
    print(
        f"extra fake upstream on http://{a.host}:{a.port}: text deltas={len(answer.text_pieces)} "
        f"tool calls={len(answer.tools)} output tokens={answer.output_tokens}",
        flush=True,
    )
    web.run_app(app, host=a.host, port=a.port, access_log=None, print=None, backlog=1024)
    return 0


if __name__ == "__main__":
    sys.exit(main())
