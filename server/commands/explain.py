"""`cc-proxy explain REQUEST.json`: dry-run the rule engine on a request, exactly as `serve` decides.

REQUEST.json is a Messages API body, an OpenAI Chat Completions or Responses body (normalised first,
as `serve` does: `--format`, else told apart by their fields), or a captured exchange (`{"headers":
{...}, "body": {...}, "path"?}`, or a list of them: the last one to an API endpoint is used) whose headers
count too. Prints the features, every
rule tried and why it did or did not match, the route and target, and the rewritten request as a
unified diff. No network: nothing is sent anywhere.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cc_proxy.server.commands.options import EXIT_INVALID, EXIT_OK, EXIT_USAGE, add_config_option

if TYPE_CHECKING:
    from cc_proxy.engine.decide import Decision, TraceStep
    from cc_proxy.engine.emulate import Prepared
    from cc_proxy.engine.snapshot import Snapshot
    from cc_proxy.engine.tokens import TokenEstimator

EXIT_NO_ROUTE = EXIT_INVALID  # an invalid config, or the proxy would answer 404
EXIT_BAD_INPUT = EXIT_USAGE  # an unreadable request or config file
MAX_DIFF_LINE = 200
FORMATS = ("auto", "anthropic", "openai-chat", "openai-responses")
NATIVE_TARGET = {"openai-chat": "openai", "openai-responses": "openai-responses"}  # formats sent as they came
FORMAT_BY_PATH = {
    "/v1/messages": "anthropic",
    "/v1/chat/completions": "openai-chat",
    "/v1/responses": "openai-responses",
}
# Fields only a Chat Completions request has (never an Anthropic one's).
CHAT_ONLY_FIELDS = ("max_completion_tokens", "response_format", "stream_options", "reasoning_effort", "n", "stop")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("request", metavar="REQUEST.json",
                        help="a request body or a captured exchange with `body`; - reads standard input")
    add_config_option(parser)
    parser.add_argument(
        "--header",
        "-H",
        action="append",
        default=[],
        metavar="K:V",
        help="a request header (repeatable; overrides the capture's)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="auto",
        help="the request's API (default: the captured path, else told apart by its fields)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


class InputError(ValueError):
    pass


def parse_request(data: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """(body, lower-case headers) from a body or a captured exchange."""
    if isinstance(data, list):
        exchanges = [
            item
            for item in data
            if isinstance(item, dict) and "body" in item and _endpoint(item.get("path", "/v1/messages")) is not None
        ]
        if not exchanges:
            raise InputError("the list holds no captured API exchange (/v1/messages...) with a `body`")
        data = exchanges[-1]
    if not isinstance(data, dict):
        raise InputError("expected a JSON object: a Messages API body or an exchange with `body`")
    headers: dict[str, str] = {}
    if "body" in data and "messages" not in data:
        raw_headers = data.get("headers") or {}
        if isinstance(raw_headers, Mapping):
            headers = {str(k).lower(): str(v) for k, v in raw_headers.items()}
        data = data["body"]
        if isinstance(data, str | bytes):
            import orjson

            try:
                data = orjson.loads(data)
            except orjson.JSONDecodeError as exc:
                raise InputError(f"the exchange's `body` is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError("the request body is not a JSON object")
    if not isinstance(data.get("model"), str):
        raise InputError("the request body has no string `model`")
    return data, headers


def _endpoint(path: Any) -> str | None:
    for endpoint, fmt in FORMAT_BY_PATH.items():
        if str(path).rstrip("/").endswith(endpoint):
            return fmt
    return None


def request_format(data: Any, body: Mapping[str, Any], chosen: str = "auto") -> str:
    """Which API `body` speaks: `chosen`, else the captured exchange's path, else its fields."""
    if chosen != "auto":
        return chosen
    if isinstance(data, list):
        data = [item for item in data if isinstance(item, dict) and "body" in item][-1:] or [{}]
        data = data[0]
    if isinstance(data, dict) and "body" in data and "path" in data:
        found = _endpoint(data["path"])
        if found is not None:
            return found
    if "input" in body and "messages" not in body:
        return "openai-responses"
    messages = body.get("messages")
    roles = {m.get("role") for m in messages if isinstance(m, dict)} if isinstance(messages, list) else set()
    if roles & {"developer", "tool", "function"} or any(f in body for f in CHAT_ONLY_FIELDS):
        return "openai-chat"
    return "anthropic"  # Anthropic requests may hold `system` messages too (Claude Code's mid-conversation ones)


def read_request(name: str) -> bytes:
    """The request file's bytes; `-` reads standard input (`pbpaste | cc-proxy explain -`)."""
    if name == "-":
        return sys.stdin.buffer.read()
    with open(name, "rb") as fh:
        return fh.read()


def parse_header_args(items: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise InputError(f"--header expects NAME:VALUE, got {item!r}")
        headers[name.strip().lower()] = value.strip()
    return headers


def _pretty(value: Any) -> list[str]:
    import orjson

    text: str = orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    return text.splitlines(keepends=True)


def request_diff(before: Mapping[str, Any], after: Mapping[str, Any], target_label: str) -> str:
    import difflib

    lines = difflib.unified_diff(_pretty(before), _pretty(after), "request (from client)", f"request ({target_label})")
    return "".join(_clip(line.rstrip("\n")) + "\n" for line in lines)


def _clip(line: str) -> str:
    """Diff lines of long prompts are clipped: the full rewritten request is in `--json` output."""
    if len(line) <= MAX_DIFF_LINE:
        return line
    return f"{line[: MAX_DIFF_LINE - 40]} ... [{len(line) - MAX_DIFF_LINE + 40} more chars] {line[-20:]}"


def target_summary(decision: Decision) -> dict[str, Any]:
    target = decision.target
    return {
        "alias": target.alias,
        "provider": target.provider.name,
        "format": target.provider.format,
        "upstream_model": decision.request.get("model"),
        "max_tokens": target.max_tokens,
    }


def build_report(
    snapshot: Snapshot,
    body: Mapping[str, Any],
    headers: Mapping[str, str],
    estimator: TokenEstimator,
    inbound: str = "anthropic",
) -> dict[str, Any]:
    """Everything `explain` shows, as plain JSON. Raises nothing for a 404 or a request the front door
    refuses: it is part of the report. `inbound`: the request's API (FORMATS)."""
    from cc_proxy.engine.decide import NoRouteError, decide
    from cc_proxy.engine.emulate import prepare
    from cc_proxy.engine.errors import ProxyError
    from cc_proxy.engine.features import Features
    from cc_proxy.engine.match import SECRET_HEADERS
    from cc_proxy.server.pdf_text import pdf_text

    report: dict[str, Any] = {
        "config": snapshot.config_file,
        "config_version": snapshot.version,
        "rule_files": list(snapshot.rule_files),
        "headers": sorted(k for k in headers if k.lower() not in SECRET_HEADERS),
    }
    if inbound != "anthropic":
        from cc_proxy.engine.inbound.chat_request import normalise_chat
        from cc_proxy.engine.inbound.responses_request import normalise_responses

        normalise = normalise_chat if inbound == "openai-chat" else normalise_responses
        try:
            normalised = normalise(dict(body))
        except ProxyError as err:
            report["inbound"] = {"format": inbound, "dropped": []}
            report["features"] = None
            report["trace"] = []
            report["error"] = {"status": err.status, "type": err.error_type, "message": err.message}
            return report
        report["inbound"] = {"format": inbound, "dropped": list(normalised.dropped)}
        body = normalised.request
    try:
        decision = decide(snapshot, body, headers, estimator, explain=True)
    except ProxyError as err:
        report["features"] = Features(body, headers, estimator).summary()
        report["trace"] = _trace(err.trace) if isinstance(err, NoRouteError) else []
        report["error"] = {"status": err.status, "type": err.error_type, "message": err.message}
        return report
    report["features"] = decision.features.summary()  # forces the token count
    report["trace"] = _trace(decision.trace)
    report["route"] = decision.route
    report["rule"] = decision.rule_id
    report["target"] = target_summary(decision)
    report["fallbacks"] = [f.alias for f in decision.fallbacks]
    prepared = prepare(decision.target, decision.request, decision.features, headers, pdf_text)  # as serve
    report["emulated"] = list(prepared.notes)
    report["upstream_headers"] = _upstream_headers(decision, prepared)
    report["request"] = prepared.request
    if "inbound" in report:
        native = NATIVE_TARGET.get(report["inbound"]["format"]) == decision.target.provider.format
        report["inbound"]["native"] = native
    label = f"to {decision.target.provider.name}"
    report["diff"] = request_diff(body, prepared.request, label)
    return report


def _upstream_headers(decision: Decision, prepared: Prepared) -> dict[str, str]:
    """The headers the wire builder sends on (never the credential: serve adds it after): e.g. the
    `anthropic-beta` list as the profile filtered it."""
    from cc_proxy.server.wire_registry import wire_for

    try:
        built = wire_for(decision.target.provider.format).build_request(
            decision.target, prepared.request, prepared.headers
        )
    except LookupError:
        return {}
    return {k: v for k, v in built.headers.items() if k != "content-type"}


def _trace(steps: Sequence[TraceStep]) -> list[dict[str, Any]]:
    return [{"phase": s.phase, "rule": s.rule_id, "matched": s.matched, "reason": s.reason} for s in steps]


def render_text(report: Mapping[str, Any]) -> str:
    out: list[str] = []
    config = report["config"] or "built-in default"
    out.append(f"config    {config} (version {report['config_version']})")
    for rule_file in report["rule_files"]:
        out.append(f"rules     {rule_file}")
    if report["headers"]:
        out.append(f"headers   {', '.join(report['headers'])}")
    inbound = report.get("inbound")
    if inbound is not None:
        out.append(f"inbound   {inbound['format']}: normalised to the engine's Anthropic form, then decided")
        if inbound["dropped"]:
            out.append(f"dropped   {', '.join(inbound['dropped'])} (no Anthropic equivalent)")
    f = report["features"]
    if f is None:  # the front door refused the request before any rule ran
        err = report["error"]
        out.append("")
        out.append(f"refused: the proxy answers {err['status']} {err['type']}: {err['message']}")
        return "\n".join(out) + "\n"
    out.append("")
    out.append("features")
    out.append(f"  tokens        {f['tokens']}")
    out.append(f"  model         {f['model']}")
    out.append(f"  thinking      {str(f['thinking']).lower()}")
    out.append(f"  stream        {str(f['stream']).lower()}")
    tools = f["tools"]
    out.append(f"  tools         {len(tools)}: {', '.join(tools)}" if tools else "  tools         none")
    out.append(f"  server tools  {', '.join(f['server_tools']) or 'none'}")
    out.append(f"  images        {str(f['images']).lower()}")
    out.append(f"  session       {f['session_id'] or 'none'}")
    out.append(f"  subagent      {str(f['subagent']).lower()}")
    out.append(f"  kind          {f['kind']}")
    if report["trace"]:
        out.append("")
        out.append("rules")
    for step in report["trace"]:
        mark = "+" if step["matched"] else "-"
        name = f"{step['rule']}: " if step["rule"] else ""
        out.append(f"  {mark} {step['phase']:<8} {name}{step['reason']}")
    if "error" in report:
        err = report["error"]
        out.append("")
        out.append(f"no target: the proxy answers {err['status']} {err['type']}: {err['message']}")
        return "\n".join(out) + "\n"
    t = report["target"]
    out.append("")
    out.append("decision")
    route = report["route"] or "none"
    out.append(f"  route      {route}" + (f" (rule {report['rule']})" if report["rule"] else ""))
    out.append(f"  target     {t['alias']}: provider {t['provider']} ({t['format']}), model {t['upstream_model']}")
    out.append(f"  fallbacks  {', '.join(report['fallbacks']) or 'none'}")
    if inbound is not None and inbound.get("native"):
        out.append("  upstream   the client's own request, with what the rules changed carried back (no translation)")
    beta = report["upstream_headers"].get("anthropic-beta")
    if t["format"] == "anthropic":
        out.append(f"  beta out   {beta or 'none'}")
    if report["emulated"]:
        out.append("")
        out.append("emulated (what the Anthropic API would do, done by the proxy for this upstream)")
        out.extend(f"  {note}" for note in report["emulated"])
    out.append("")
    out.append(report["diff"].rstrip("\n") if report["diff"] else "request unchanged: no rewrite applied")
    return "\n".join(out) + "\n"


def run(args: argparse.Namespace) -> int:
    import orjson

    from cc_proxy.server.config_files import ConfigLoadError, load_from_disk, locate_config
    from cc_proxy.server.tokens import build_estimator

    try:
        data = orjson.loads(read_request(args.request))
        body, headers = parse_request(data)
        headers.update(parse_header_args(args.header))
        inbound = request_format(data, body, args.format)
    except OSError as exc:
        print(f"cc-proxy explain: cannot read {args.request}: {exc.strerror or type(exc).__name__}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except orjson.JSONDecodeError as exc:
        print(f"cc-proxy explain: {args.request} is not JSON: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except InputError as exc:
        print(f"cc-proxy explain: {args.request}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT

    config_path = locate_config(args.config)
    try:
        snapshot = load_from_disk(config_path).snapshot
    except ConfigLoadError as err:
        for problem in err.problems:
            print(problem.render(), file=sys.stderr)
        return EXIT_BAD_INPUT if err.config_unreadable else EXIT_NO_ROUTE

    for warning in snapshot.warnings:
        print(warning.render(), file=sys.stderr)
    report = build_report(snapshot, body, headers, build_estimator(), inbound)
    if args.json:
        sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(render_text(report))
    return EXIT_NO_ROUTE if "error" in report else EXIT_OK
