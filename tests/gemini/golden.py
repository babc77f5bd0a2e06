"""Golden cases for the Gemini wire: tests/cases/gemini/<case>/.

Each folder holds `case.json` (description, profile, target, context) and any of three input/expected
pairs: `request.json` (or `case.json` `request_fixture`, a real Claude Code body) -> `upstream_request.json`;
`upstream_response.json` -> `anthropic_response.json` (or, for an answer that is an error, the status and
Anthropic error body the proxy answers with); `upstream.sse` -> `client.sse`.

Regenerate expected files after a deliberate change, then review the diff:
    .venv/bin/python -m tests.gemini.golden --write [case ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from cc_proxy.engine.errors import ProxyError
from cc_proxy.engine.wire.gemini import StreamTranslator, build_request, translate_response
from cc_proxy.engine.wire.sse import SSEDecoder, encode_all
from cc_proxy.engine.wire.types import SSEEvent
from tests.openai.support import make_ctx, make_target

CASES_DIR = Path(__file__).resolve().parents[1] / "cases" / "gemini"
FIXTURES_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "claude-code"


def case_names() -> list[str]:
    return sorted(p.name for p in CASES_DIR.iterdir() if (p / "case.json").is_file())


def load_case(name: str) -> dict[str, Any]:
    case: dict[str, Any] = json.loads((CASES_DIR / name / "case.json").read_text())
    return case


def target_for(case: dict[str, Any]) -> Any:
    profile = case.get("profile", "gemini")
    if isinstance(profile, dict):
        profile = {"extends": "gemini", **profile}
    return make_target(profile, **{"upstream_model": "gemini-test", **case.get("target", {})})


def ctx_for(case: dict[str, Any]) -> Any:
    return make_ctx(target_for(case), **case.get("ctx", {}))


def request_input(name: str) -> dict[str, Any] | None:
    case = load_case(name)
    folder = CASES_DIR / name
    if "request_fixture" in case:
        data: dict[str, Any] = json.loads((FIXTURES_DIR / case["request_fixture"]).read_text())
        data.update(case.get("request_overrides", {}))
        return data
    if (folder / "request.json").is_file():
        data = json.loads((folder / "request.json").read_text())
        return data
    return None


def run_request(name: str) -> dict[str, Any] | None:
    request = request_input(name)
    if request is None:
        return None
    upstream = build_request(target_for(load_case(name)), request, {"x-api-key": "sk-client-secret"})
    body = json.loads(upstream.body)
    return {"path": upstream.path, "headers": upstream.headers, "stream": upstream.stream, "body": body}


def run_response(name: str) -> dict[str, Any] | None:
    path = CASES_DIR / name / "upstream_response.json"
    if not path.is_file():
        return None
    try:
        return translate_response(json.loads(path.read_text()), ctx_for(load_case(name)))
    except ProxyError as err:
        return {"proxy_error": {"status": err.status, "body": err.body()}}


def translate_stream(case: dict[str, Any], raw: bytes) -> tuple[list[SSEEvent], StreamTranslator]:
    """Decode the upstream bytes with the real SSE decoder and translate every event, as
    server/wire_registry.py does (a last event without its blank line is dispatched at the end)."""
    translator = StreamTranslator(ctx_for(case))
    out: list[SSEEvent] = []
    decoder = SSEDecoder()
    for event in decoder.feed(raw):
        out.extend(translator.feed(event))
    for event in decoder.finish(dispatch_incomplete=True):
        out.extend(translator.feed(event))
    out.extend(translator.finish())
    return out, translator


def run_stream(name: str) -> bytes | None:
    path = CASES_DIR / name / "upstream.sse"
    if not path.is_file():
        return None
    events, _ = translate_stream(load_case(name), path.read_bytes())
    return encode_all(events)


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write(names: list[str]) -> None:
    for name in names:
        folder = CASES_DIR / name
        request = run_request(name)
        if request is not None:
            (folder / "upstream_request.json").write_text(dump_json(request))
        response = run_response(name)
        if response is not None:
            (folder / "anthropic_response.json").write_text(dump_json(response))
        stream = run_stream(name)
        if stream is not None:
            (folder / "client.sse").write_bytes(stream)
        sys.stdout.write(f"wrote {name}\n")


README_HEAD = """# Gemini golden cases

One folder per case; `case.json` says which profile, target and context. Inputs -> expected:
`request.json` (or a real Claude Code body named by `request_fixture`) -> `upstream_request.json`;
`upstream_response.json` -> `anthropic_response.json`; `upstream.sse` -> `client.sse`.
Upstream answers follow Google's API reference (ai.google.dev/api/generate-content) and google-genai's
types; `tests/fakes/test_gemini_fake.py` holds the fake to the real SDK.
Regenerate after a deliberate change and review the diff: `.venv/bin/python -m tests.gemini.golden --write`.
"""


def readme() -> str:
    lines = [README_HEAD]
    for name in case_names():
        case = load_case(name)
        profile = case.get("profile", "gemini")
        label = profile if isinstance(profile, str) else "inline profile"
        lines.append(f"- `{name}` ({label}): {case['description']}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or args[0] != "--write":
        sys.exit(__doc__)
    write(args[1:] or case_names())
    (CASES_DIR / "README.md").write_text(readme())
