"""Golden cases of the OpenAI front doors: tests/cases/openai_inbound/ (Chat Completions) and
tests/cases/responses_inbound/ (Responses).

Per case: `request.json` (the client's body) -> `engine.json` (the engine's Anthropic form) and
`dropped.json` (what had no equivalent), or `error.json` (status and message of the 400);
`anthropic.json` (an Anthropic answer) -> `client.json`; `anthropic.sse` -> `client.sse`. `created` is
fixed at CREATED. Regenerate after a deliberate change, then review the diff:
`.venv/bin/python -m tests.inbound.golden --write`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from cc_proxy.engine.errors import ProxyError
from cc_proxy.engine.inbound.chat_answer import chat_completion
from cc_proxy.engine.inbound.chat_request import normalise_chat
from cc_proxy.engine.inbound.chat_stream import ChatStreamRenderer
from cc_proxy.engine.inbound.common import Normalised
from cc_proxy.engine.inbound.responses_answer import response
from cc_proxy.engine.inbound.responses_request import normalise_responses
from cc_proxy.engine.inbound.responses_stream import ResponsesStreamRenderer

CASES = Path(__file__).resolve().parents[1] / "cases"
CREATED = 1735689600


@dataclass(frozen=True)
class Door:
    area: str
    normalise: Callable[[dict[str, Any]], Normalised]
    render: Callable[[dict[str, Any], Normalised], dict[str, Any]]
    stream: Callable[[Normalised], Any]


DOORS = {
    "openai_inbound": Door(
        "openai_inbound",
        normalise_chat,
        lambda message, _n: chat_completion(message, CREATED),
        lambda n: ChatStreamRenderer(CREATED, n.include_usage),
    ),
    "responses_inbound": Door(
        "responses_inbound",
        normalise_responses,
        lambda message, n: response(message, CREATED, n.tools),
        lambda n: ResponsesStreamRenderer(CREATED, n.tools),
    ),
}


def case_ids() -> list[tuple[str, str]]:
    return [(area, d.name) for area in DOORS for d in sorted((CASES / area).iterdir()) if d.is_dir()]


def run_case(area: str, name: str) -> dict[str, Any]:
    """Every output of one case, by file name (JSON values, or bytes for client.sse)."""
    door = DOORS[area]
    folder = CASES / area / name
    request = json.loads((folder / "request.json").read_text())
    out: dict[str, Any] = {}
    try:
        normalised = door.normalise(request)
    except ProxyError as err:
        out["error.json"] = {"status": err.status, "message": err.message}
        return out
    out["engine.json"] = normalised.request
    out["dropped.json"] = list(normalised.dropped)
    answer = folder / "anthropic.json"
    if answer.is_file():
        out["client.json"] = door.render(json.loads(answer.read_text()), normalised)
    stream = folder / "anthropic.sse"
    if stream.is_file():
        renderer = door.stream(normalised)
        out["client.sse"] = renderer.feed(stream.read_bytes()) + renderer.finish()
    return out


def expected(area: str, name: str, file: str) -> Any:
    path = CASES / area / name / file
    if not path.is_file():
        return None
    return path.read_bytes() if file.endswith(".sse") else json.loads(path.read_text())


def write_all() -> None:
    for area, name in case_ids():
        for file, value in run_case(area, name).items():
            path = CASES / area / name / file
            if isinstance(value, bytes):
                path.write_bytes(value)
            else:
                path.write_text(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.inbound.golden --write")
    write_all()
