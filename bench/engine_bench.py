"""Benchmark (not a test) of the routing core on real Claude Code requests: token counting and decide(),
cold (a fresh estimator: every block encoded) and warm (the estimator has seen the same prefix, as on
every later turn of a conversation). Each measured call gets its own freshly parsed copy of the body, so
string hashes are not pre-computed and nothing is shared with the previous call, as in the server.

    .venv/bin/python bench/engine_bench.py [--runs 200] [--shared ../shared]

Prints microseconds per call (median and p90) per request.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cc_proxy.engine.decide import decide  # noqa: E402
from cc_proxy.engine.profiles import BUILTIN_PROFILES  # noqa: E402
from cc_proxy.engine.rules import compile_rewrite_rule, compile_routing_rule  # noqa: E402
from cc_proxy.engine.snapshot import ApiKey, ResolvedModel, ResolvedProvider, Route, ServerSettings, Snapshot  # noqa: E402
from cc_proxy.engine.tokens import TokenEstimator  # noqa: E402
from cc_proxy.server.tokens import build_encode_len  # noqa: E402

FIXTURES = (
    "bare_mode.v2.1.332.body.json",
    "say_hi.v2.1.332.body.json",
    "bash_tool_result_followup.v2.1.332.body.json",
    "thinking_tool_result_followup.v2.1.332.body.json",
    "non_streaming_fallback.v2.1.197.body.json",
)

# The documented example rules (docs/configuration.md): the token rule comes first, so decide() counts.
ROUTING = [
    {"id": "long-context", "when": {"tokens": {">": 60000}}, "route": "longContext"},
    {"id": "background", "when": {"model": {"contains": "haiku"}}, "route": "background"},
    {"id": "think", "when": {"thinking": True}, "route": "think"},
    {"id": "web-search", "when": {"server_tool": "web_search*"}, "route": "webSearch"},
    {"id": "image", "when": {"images": True}, "route": "image"},
]
REWRITE = [
    {"id": "openai-cleanup", "when": {"format": "openai"}, "drop": ["context_management", "output_config"]},
    {"id": "clamp", "clamp": "max_tokens"},
    {"id": "no-cache", "drop": ["system[*].cache_control", "tools[*].cache_control"]},
    {"id": "user", "map": {"metadata.session": 'headers."x-claude-code-session-id"'}},
]


def snapshot(routing: list[dict[str, Any]]) -> Snapshot:
    profile = BUILTIN_PROFILES["anthropic"]
    provider = ResolvedProvider("anthropic", "anthropic", "https://api.anthropic.com", ApiKey("forward"), {}, profile)
    models = {
        "sonnet": ResolvedModel("sonnet", provider, "claude-sonnet-4-5", max_tokens=64000),
        "opus": ResolvedModel("opus", provider, "claude-opus-4-1", max_tokens=32000),
        "haiku": ResolvedModel("haiku", provider, "claude-haiku-4-5", max_tokens=8000),
    }
    routes = {
        "default": Route("default", "sonnet"),
        "background": Route("background", "haiku"),
        "think": Route("think", "opus"),
        "longContext": Route("longContext", "sonnet"),
    }
    return Snapshot(
        version="bench",
        config_file=None,
        rule_files=(),
        server=ServerSettings(),
        providers={"anthropic": provider},
        models=models,
        routes=routes,
        routing_rules=tuple(compile_routing_rule(r, "bench", f"$.routing[{i}]") for i, r in enumerate(routing)),
        rewrite_rules=tuple(compile_rewrite_rule(r, "bench", f"$.rewrite[{i}]") for i, r in enumerate(REWRITE)),
    )


def measure(runs: int, raw: bytes, call: Callable[[dict[str, Any]], object]) -> tuple[float, float]:
    bodies = [orjson.loads(raw) for _ in range(runs)]
    times: list[float] = []
    for body in bodies:
        start = time.perf_counter()
        call(body)
        times.append((time.perf_counter() - start) * 1e6)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.9)]


def parse_time(runs: int, raw: bytes) -> float:
    """orjson.loads of the body, for scale: what the server already pays per request."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        orjson.loads(raw)
        times.append((time.perf_counter() - start) * 1e6)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--shared", default=str(REPO.parent / "shared"), help="the shared reference directory")
    args = parser.parse_args()

    encode_len = build_encode_len()
    requests: list[tuple[str, bytes]] = []
    for name in FIXTURES:
        path = Path(args.shared) / "claude-code" / "fixtures" / name
        requests.append((name.removesuffix(".body.json"), path.read_bytes()))
    try:  # the synthetic large/xl presets of the shared benchmark harness, when present
        sys.path.insert(0, str(Path(args.shared) / "bench"))
        import workload  # type: ignore[import-not-found]

        for preset in ("large", "xl"):
            requests.append((f"workload-{preset}", orjson.dumps(workload.build_request(preset, stream=True))))
    except ImportError:
        pass

    with_tokens = snapshot(ROUTING)
    without_tokens = snapshot(ROUTING[1:])
    headers = {"x-claude-code-session-id": "bench", "user-agent": "claude-cli/2.1.332"}
    cold_runs = max(10, args.runs // 10)

    print(
        f"{'request':<42} {'KB':>6} {'tokens':>7} | {'parse':>7} | {'count cold':>10} {'count warm':>10} | "
        f"{'decide cold':>11} {'decide warm':>11} {'no-tok rule':>11}   (median us; p90 in brackets)"
    )
    for name, raw in requests:
        warm = TokenEstimator(encode_len)
        tokens = warm.count(orjson.loads(raw))
        parse_cost = parse_time(args.runs, raw)
        count_cold = measure(cold_runs, raw, lambda b: TokenEstimator(encode_len).count(b))
        count_warm = measure(args.runs, raw, warm.count)
        decide_cold = measure(cold_runs, raw, lambda b: decide(with_tokens, b, headers, TokenEstimator(encode_len)))
        decide_warm = measure(args.runs, raw, lambda b, warm=warm: decide(with_tokens, b, headers, warm))
        decide_no_tokens = measure(args.runs, raw, lambda b, warm=warm: decide(without_tokens, b, headers, warm))

        def fmt(m: tuple[float, float]) -> str:
            return f"{m[0]:>6.0f} [{m[1]:>4.0f}]"

        print(
            f"{name:<42} {len(raw) / 1024:>6.1f} {tokens:>7} | {parse_cost:>7.0f} | {fmt(count_cold):>10} "
            f"{fmt(count_warm):>10} | {fmt(decide_cold):>11} {fmt(decide_warm):>11} {fmt(decide_no_tokens):>11}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
