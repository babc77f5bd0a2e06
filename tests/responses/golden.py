"""Golden cases for the OpenAI Responses dialect: tests/cases/responses/<case>/.

The layout is the OpenAI Chat cases' (tests/openai/golden.py): `case.json` (description, profile,
target, ctx, optional `headers` the client sent) and any of `request.json` (or `request_fixture`) ->
`upstream_request.json`, `upstream_response.json` -> `anthropic_response.json`, `upstream.sse` ->
`client.sse`. The upstream files are built with the openai SDK's types (tests/responses/upstreams.py).

Regenerate after a deliberate change, then review the diff:
    .venv/bin/python -m tests.responses.golden --write [case ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from cc_proxy.engine.wire.responses import StreamTranslator, build_request, translate_response
from cc_proxy.engine.wire.sse import SSEDecoder, encode_all
from cc_proxy.engine.wire.types import SSEEvent
from tests.openai.golden import FIXTURES_DIR, dump_json
from tests.openai.support import make_ctx, make_target
from tests.responses.upstreams import upstream_files

CASES_DIR = Path(__file__).resolve().parents[1] / "cases" / "responses"
PROFILE = "openai-responses"


def case_names() -> list[str]:
    return sorted(p.name for p in CASES_DIR.iterdir() if (p / "case.json").is_file())


def load_case(name: str) -> dict[str, Any]:
    case: dict[str, Any] = json.loads((CASES_DIR / name / "case.json").read_text())
    return case


def target_for(case: dict[str, Any]) -> Any:
    return make_target(case.get("profile", PROFILE), **case.get("target", {}))


def ctx_for(case: dict[str, Any]) -> Any:
    return make_ctx(target_for(case), **case.get("ctx", {}))


def request_input(name: str) -> dict[str, Any] | None:
    case = load_case(name)
    if "request_fixture" in case:
        data: dict[str, Any] = json.loads((FIXTURES_DIR / case["request_fixture"]).read_text())
        return data
    path = CASES_DIR / name / "request.json"
    if path.is_file():
        data = json.loads(path.read_text())
        return data
    return None


def run_request(name: str) -> dict[str, Any] | None:
    request = request_input(name)
    if request is None:
        return None
    case = load_case(name)
    headers = {"x-api-key": "sk-client-secret", **case.get("headers", {})}
    upstream = build_request(target_for(case), request, headers)
    return {
        "path": upstream.path,
        "headers": upstream.headers,
        "stream": upstream.stream,
        "body": json.loads(upstream.body),
    }


def run_response(name: str) -> dict[str, Any] | None:
    path = CASES_DIR / name / "upstream_response.json"
    if not path.is_file():
        return None
    return translate_response(json.loads(path.read_text()), ctx_for(load_case(name)))


def translate_stream(case: dict[str, Any], raw: bytes) -> tuple[list[SSEEvent], StreamTranslator]:
    """Decode the upstream bytes with the real SSE decoder and translate every event."""
    translator = StreamTranslator(ctx_for(case))
    out: list[SSEEvent] = []
    decoder = SSEDecoder()
    for event in decoder.feed(raw):
        out.extend(translator.feed(event))
    for event in decoder.finish(dispatch_incomplete=True):  # as server/wire_registry.py does
        out.extend(translator.feed(event))
    out.extend(translator.finish())
    return out, translator


def run_stream(name: str) -> bytes | None:
    path = CASES_DIR / name / "upstream.sse"
    if not path.is_file():
        return None
    events, _ = translate_stream(load_case(name), path.read_bytes())
    return encode_all(events)


README_HEAD = """# OpenAI Responses golden cases

One folder per case, laid out as tests/cases/openai: `case.json` (profile, target, context, client
headers), `request.json` (or a real Claude Code body named by `request_fixture`) -> `upstream_request.json`;
`upstream_response.json` -> `anthropic_response.json`; `upstream.sse` -> `client.sse`. The upstream
files are built with the openai SDK's response types (tests/responses/upstreams.py).
Regenerate after a deliberate change and review the diff: `.venv/bin/python -m tests.responses.golden --write`.
"""


def readme() -> str:
    lines = [README_HEAD]
    for name in case_names():
        case = load_case(name)
        profile = case.get("profile", PROFILE)
        label = profile if isinstance(profile, str) else "inline profile"
        lines.append(f"- `{name}` ({label}): {case['description']}")
    return "\n".join(lines) + "\n"


def write(names: list[str]) -> None:
    for name in names:
        folder = CASES_DIR / name
        for file, data in upstream_files(name).items():
            (folder / file).write_bytes(data)
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


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or args[0] != "--write":
        sys.exit(__doc__)
    write(args[1:] or case_names())
    (CASES_DIR / "README.md").write_text(readme())
