"""Issue #12: the real Claude Code CLI through cc-proxy to a Gemini-format upstream, a tool session: the
model runs Bash, then reads and edits a file as two parallel calls in one turn, then answers. The fake
answers as Gemini 3 does, with a thoughtSignature on the first call of each step, and rejects (400) any
request where a call comes back without its signature: the files on disk and the final answer prove
the session went through, and every upstream request is a valid Gemini request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import ProxyFactory
from tests.e2e.claude_cli import CLIENT_KEY, run_claude
from tests.e2e.gemini_session import GeminiToolSession, signature_problems
from tests.fakes.server import FakeUpstream
from tests.gemini.test_sdks import check_body

GEMINI_KEY = "AIzaSyE2e-gemini-provider-key-0003"
UPSTREAM_MODEL = "gemini-3-pro-fake"


def gemini_config(upstream_url: str) -> dict[str, Any]:
    return {
        "providers": {
            "google": {
                "format": "gemini",
                "base_url": upstream_url,
                "api_key": "${GEMINI_API_KEY}",
                "profile": "gemini-3",
            }
        },
        "models": {"pro": {"provider": "google", "model": UPSTREAM_MODEL, "max_tokens": "8k"}},
        "routes": {"default": "pro"},
    }


def test_bash_then_parallel_read_and_edit_via_gemini(
    proxy_server: ProxyFactory, fake_upstream: FakeUpstream, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    notes = work / "notes.txt"
    notes.write_text("status: TODO\n")
    session = GeminiToolSession(path=str(notes), old="TODO", new="DONE", command=f"echo built > {work / 'build.log'}")
    fake_upstream.always("*", session)
    proxy = proxy_server(gemini_config(fake_upstream.url), env={"GEMINI_API_KEY": GEMINI_KEY})

    run = run_claude(
        "run the build, then mark the notes done",
        base_url=proxy.url,
        scratch=tmp_path,
        args=["--permission-mode", "default", "--allowedTools", "Read,Edit,Bash"],
    )

    run.assert_ok()
    assert session.rejected == []
    assert run.text == session.final
    assert (work / "build.log").read_text() == "built\n"
    assert notes.read_text() == "status: DONE\n"

    requests = [r for r in fake_upstream.requests if r.json and r.json.get("tools")]
    assert len(requests) == 3, [r.path for r in fake_upstream.requests]
    for request in fake_upstream.requests:
        assert request.path == f"/v1beta/models/{UPSTREAM_MODEL}:streamGenerateContent"
        assert request.query == "alt=sse"
        assert request.headers["x-goog-api-key"] == GEMINI_KEY
        assert CLIENT_KEY not in " ".join(value for _, value in request.raw_headers)
        check_body(request.json)
        assert request.json["generationConfig"]["maxOutputTokens"] <= 8000

    # Turn 3 carries both steps back: each first call with the signature it was sent with, Edit without.
    third = requests[2].json
    calls = [p for c in third["contents"] if c["role"] == "model" for p in c["parts"] if "functionCall" in p]
    assert [p["functionCall"]["name"] for p in calls] == ["Bash", "Read", "Edit"]
    assert [p.get("thoughtSignature") for p in calls] == [session.issued[n] for n in ("Bash", "Read", "Edit")]
    answered = [p["functionResponse"]["name"] for c in third["contents"] for p in c["parts"] if "functionResponse" in p]
    assert answered == ["Bash", "Read", "Edit"]


def test_the_fake_rejects_a_call_without_its_signature() -> None:
    """The check above is real: the fake answers Gemini's 400 when a signature is dropped or invented."""
    session = GeminiToolSession(path="n", old="a", new="b", command="true")
    bash = {"functionCall": {"name": "Bash", "args": {}}, "thoughtSignature": session.issued["Bash"]}
    body = {"contents": [{"role": "user", "parts": [{"text": "go"}]}, {"role": "model", "parts": [bash]}]}
    assert signature_problems(body, session.issued) == []
    del bash["thoughtSignature"]
    assert len(signature_problems(body, session.issued)) == 1
    edit = {"functionCall": {"name": "Edit", "args": {}}, "thoughtSignature": "aW52ZW50ZWQ="}
    body["contents"][1]["parts"] = [edit]
    assert len(signature_problems(body, session.issued)) == 1
