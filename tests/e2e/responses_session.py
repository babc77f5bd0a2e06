"""The upstream side of a Claude Code session against an OpenAI Responses endpoint (`/v1/responses`),
scripted like tests/e2e/conversations.py but in the Responses format, answers built with the openai
SDK's types: read a file, then edit it and run a command as two calls in one turn, then answer.

Every turn reasons first and returns its reasoning as an encrypted item. With `store: false` nothing is
kept upstream, so, as OpenAI does, the fake refuses (400) a turn whose input does not hand back every
earlier reasoning item, encrypted content intact, right before the items that followed it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from openai.types.responses import Response

from tests.fakes.openai_responses import answer_for, function_call, message, reasoning, response, usage
from tests.fakes.responses import Json
from tests.fakes.server import RecordedRequest

SIDE_ANSWER = "ok"


def encrypted(turn: int) -> str:
    return f"gAAAAABfake-encrypted-reasoning-of-turn-{turn}"


def _reasoning_echo_problems(items: list[Any], turns: int) -> list[str]:
    """Reasoning items 0..turns-1 must come back, each right before the call or message it preceded."""
    problems = []
    for turn in range(turns):
        found = [
            i
            for i, item in enumerate(items)
            if isinstance(item, dict) and item.get("type") == "reasoning" and item.get("id") == f"rs_turn{turn}"
        ]
        if not found:
            problems.append(f"reasoning item rs_turn{turn} was not sent back")
            continue
        item = items[found[0]]
        if item.get("encrypted_content") != encrypted(turn):
            problems.append(f"rs_turn{turn}: encrypted_content changed: {item.get('encrypted_content')!r}")
        following = items[found[0] + 1] if found[0] + 1 < len(items) else {}
        if following.get("type") not in ("function_call", "message") or following.get("role") == "user":
            problems.append(f"rs_turn{turn} is not followed by the output it preceded: {following!r}")
    return problems


@dataclass
class ResponsesEditSession:
    path: str
    old: str
    new: str
    command: str
    final: str = "Updated the notes and ran the build."
    summaries: tuple[str, str, str] = (
        "**Reading first**\n\nThe user wants the notes updated; read the file.",
        "It says TODO. Edit it and run the build at the same time.",
        "Both tools succeeded.",
    )
    problems: list[str] = field(default_factory=list)  # every refused turn, for the test to show

    def __call__(self, req: RecordedRequest) -> Json | Any:
        body = req.json if isinstance(req.json, dict) else {}
        model = body.get("model", "")
        if not body.get("tools"):
            return answer_for(req, response([message("msg_side", SIDE_ANSWER)], model=model))
        items = body.get("input") if isinstance(body.get("input"), list) else []
        called = {i.get("name") for i in items if isinstance(i, dict) and i.get("type") == "function_call"}
        turn = 2 if "Edit" in called else 1 if "Read" in called else 0
        problems = _reasoning_echo_problems(items, turn)
        if problems:
            self.problems.extend(problems)
            error = {"message": "; ".join(problems), "type": "invalid_request_error", "param": "input", "code": None}
            return Json({"error": error}, 400)
        return answer_for(req, self._answer(turn, model))

    def _answer(self, turn: int, model: str) -> Response:
        thought = reasoning(f"rs_turn{turn}", [self.summaries[turn]], encrypted=encrypted(turn))
        spent = usage(1200 + 400 * turn, 80, cached=1024 * turn, reasoning=32)
        if turn == 0:
            read = function_call("fc_read", "call_read", "Read", json.dumps({"file_path": self.path}))
            return response([thought, read], usage_=spent, model=model)
        if turn == 1:
            edit = json.dumps({"file_path": self.path, "old_string": self.old, "new_string": self.new})
            bash = json.dumps({"command": self.command, "description": "Run the build"})
            calls = [
                function_call("fc_edit", "call_edit", "Edit", edit),
                function_call("fc_bash", "call_bash", "Bash", bash),
            ]
            return response([thought, message("msg_1", "Editing and building."), *calls], usage_=spent, model=model)
        return response([thought, message("msg_2", self.final)], usage_=spent, model=model)
