"""The Gemini side of a Claude Code tool session, as a FakeUpstream responder that checks signatures.

Gemini 3 answers every tool-calling step with a `thoughtSignature` on the first `functionCall` part and
rejects the next request with 400 INVALID_ARGUMENT ("Function call is missing a thought_signature in
functionCall parts ...") when a call of the conversation comes back without the signature it was
sent with; parallel calls after the first carry none, and none may be invented (protocols.md 3.5).
This responder holds Claude Code and the proxy to exactly that: every `functionCall` in the history
must carry the signature this fake issued for it (or none where it issued none), else the 400.

Steps (decided from the request, never a counter, so retries and side requests get sensible answers):
Bash; then Read and Edit of one file as two parallel calls in one turn; then a final text.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from tests.fakes import gemini as G
from tests.fakes.responses import Json, Response
from tests.fakes.server import RecordedRequest

MISSING = (
    "Function call is missing a thought_signature in functionCall parts. This is required for tools to work "
    "correctly, and missing thought_signature may lead to degraded model performance. Additional data, "
    "function call `default_api:{name}` , position {position}. Please refer to "
    "https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
)


def _signature(label: str) -> str:
    return base64.b64encode(f"gemini-thought-state:{label}".encode()).decode()


def signature_problems(body: dict[str, Any], issued: dict[str, str | None]) -> list[str]:
    """What Gemini 3 would reject: a functionCall whose signature is not the one issued for that call
    name (`issued[name]`, None: the call was sent without one and must come back without one)."""
    problems = []
    position = 0
    for content in body.get("contents", []):
        for part in content.get("parts", []):
            position += 1
            call = part.get("functionCall")
            if content.get("role") != "model" or call is None or call.get("name") not in issued:
                continue
            if part.get("thoughtSignature") != issued[call["name"]]:
                problems.append(MISSING.format(name=call["name"], position=position))
    return problems


def _responded(body: dict[str, Any]) -> set[str]:
    return {
        part["functionResponse"]["name"]
        for content in body.get("contents", [])
        for part in content.get("parts", [])
        if "functionResponse" in part
    }


@dataclass
class GeminiToolSession:
    path: str
    old: str
    new: str
    command: str
    final: str = "Ran the build, then read and updated the notes."
    issued: dict[str, str | None] = field(
        default_factory=lambda: {"Bash": _signature("bash"), "Read": _signature("read"), "Edit": None}
    )
    rejected: list[str] = field(default_factory=list)  # the 400s this fake answered, for the test to show

    def __call__(self, req: RecordedRequest) -> Response:
        body = req.json if isinstance(req.json, dict) else {}
        problems = signature_problems(body, self.issued)
        if problems:
            self.rejected.extend(problems)
            return G.error(400, problems[0])
        if not body.get("tools"):
            answer = G.response(G.text("ok"))
        elif "Edit" in _responded(body):
            answer = G.response(G.text(self.final, signature=_signature("final")))
        elif "Bash" in _responded(body):
            read = G.call("Read", {"file_path": self.path}, signature=self.issued["Read"])
            edit = G.call("Edit", {"file_path": self.path, "old_string": self.old, "new_string": self.new})
            answer = G.response(
                G.thought("The build ran. Read the notes and fix them."), G.text("Updating."), read, edit
            )
        else:
            bash = G.call(
                "Bash", {"command": self.command, "description": "Run the build"}, signature=self.issued["Bash"]
            )
            answer = G.response(G.thought("Run the build first."), bash)
        return G.stream(answer) if G.is_stream(req) else Json(answer)
