"""A tiny MCP server over stdio (newline-delimited JSON-RPC 2.0, MCP's stdio transport) for the tool
search test: a ticket tracker with several tools; `close_ticket` appends to the file named by argv[1],
so the test sees that Claude Code really called it.

    python tests/e2e/mcp_stdio_server.py CALLS_FILE
"""

from __future__ import annotations

import json
import sys
from typing import Any

PROTOCOL_VERSION = "2025-06-18"

TOOLS: list[dict[str, Any]] = [
    {
        "name": name,
        "description": description,
        "inputSchema": {
            "type": "object",
            "properties": {
                "id": {"type": "integer", "description": "The ticket number"},
                "comment": {"type": "string", "description": "A note recorded with the change"},
                "labels": {"type": "array", "items": {"type": "string"}, "description": "Labels to set"},
            },
            "required": ["id"],
        },
    }
    for name, description in (
        ("close_ticket", "Close a ticket in the tracker, recording an optional comment and labels."),
        ("reopen_ticket", "Reopen a closed ticket in the tracker, recording why it was reopened."),
        ("assign_ticket", "Assign a ticket to the person named in the comment, replacing the assignee."),
        ("comment_ticket", "Add a comment to a ticket without changing its state or assignee."),
        ("label_ticket", "Replace the labels of a ticket with the given list of labels."),
        ("escalate_ticket", "Raise the priority of a ticket and notify the on-call engineer about it."),
    )
]


def answer(request: dict[str, Any], calls_file: str) -> dict[str, Any] | None:
    method = request.get("method")
    if "id" not in request:  # a notification (notifications/initialized ...): no answer
        return None
    result: dict[str, Any]
    if method == "initialize":
        result = {
            "protocolVersion": request.get("params", {}).get("protocolVersion", PROTOCOL_VERSION),
            "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": "tickets", "version": "1.0.0"},
        }
    elif method == "tools/list":
        result = {"tools": TOOLS}
    elif method == "tools/call":
        params = request.get("params", {})
        with open(calls_file, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"name": params.get("name"), "arguments": params.get("arguments")}) + "\n")
        result = {"content": [{"type": "text", "text": f"{params.get('name')} done for ticket"}], "isError": False}
    elif method == "ping":
        result = {}
    else:
        return {"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32601, "message": f"no method {method}"}}
    return {"jsonrpc": "2.0", "id": request["id"], "result": result}


def main() -> None:
    calls_file = sys.argv[1]
    for line in sys.stdin:
        if not line.strip():
            continue
        reply = answer(json.loads(line), calls_file)
        if reply is not None:
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
