"""JSON scripts for the fake upstream (for `python -m tests.fakes.serve --script` and `/_fake/script`).

    {"routes": {"/v1/messages": [SPEC, ...]},      queued, each used once, in order
     "always": {"/v1/messages": SPEC, "*": SPEC}}   when the queue of that path is empty

SPEC is one of (status/headers optional everywhere):
    {"json": ANY}                                   JSON body
    {"raw": "text", "content_type": "text/plain"}   exact body
    {"html": "<html>..."}                           HTML page
    {"sse": ["event: ping\\ndata: {...}\\n\\n", ...], "delay": 0.05, "end": "complete|fin|rst|hang"}
    {"anthropic": {"content": [BLOCK...], "model": ..., "stop_reason": ..., "usage": ...},
     "echo_model": false, "pieces": 3}              stream or JSON, as the request asks
    {"openai": {"content": ["Hel", "lo"], "reasoning": [...],
                "tool_calls": [{"id": "call_1", "name": "Read", "arguments": ["{\\"a\\"", ":1}"]}]}}
    {"fault": "hang" | "close" | "rst"}
"""

from __future__ import annotations

from typing import Any

from tests.fakes import anthropic_stream, openai_stream
from tests.fakes.responses import Close, Hang, Json, Raw, Responder, Stream, html


def parse_spec(spec: dict[str, Any]) -> Responder:
    status = int(spec.get("status", 200))
    headers = {str(k): str(v) for k, v in spec.get("headers", {}).items()}
    if "json" in spec:
        return Json(spec["json"], status, headers)
    if "raw" in spec:
        return Raw(spec["raw"].encode(), status, headers, spec.get("content_type", "text/plain"))
    if "html" in spec:
        page = html(status, spec["html"])
        return Raw(page.body, status, headers, page.content_type)
    if "sse" in spec:
        return Stream(
            [c.encode() for c in spec["sse"]],
            status,
            headers,
            delay=float(spec.get("delay", 0.0)),
            delays=spec.get("delays"),
            end=spec.get("end", "complete"),
            headers_delay=float(spec.get("headers_delay", 0.0)),
        )
    if "anthropic" in spec:
        fields = dict(spec["anthropic"])
        msg = anthropic_stream.message(*fields.pop("content", []), **fields)
        return anthropic_stream.auto(msg, echo_model=bool(spec.get("echo_model")), pieces=int(spec.get("pieces", 3)))
    if "openai" in spec:
        fields = dict(spec["openai"])
        calls = [
            openai_stream.ToolCall(c["id"], c["name"], c.get("arguments", ["{}"])) for c in fields.pop("tool_calls", [])
        ]
        return openai_stream.auto(tool_calls=calls, **fields)
    if "fault" in spec:
        fault = spec["fault"]
        if fault == "hang":
            return Hang()
        if fault in ("close", "rst"):
            return Close(rst=fault == "rst")
        raise ValueError(f"unknown fault {fault!r}")
    raise ValueError(f"unknown response spec keys {sorted(spec)}")


def parse_script(script: dict[str, Any]) -> tuple[dict[str, list[Responder]], dict[str, Responder]]:
    queued = {path: [parse_spec(s) for s in specs] for path, specs in script.get("routes", {}).items()}
    always = {path: parse_spec(s) for path, s in script.get("always", {}).items()}
    return queued, always
