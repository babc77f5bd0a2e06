"""`cc-proxy usage`: the usage history from the database, without a running server."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_ERROR = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since", default="24h", help='how far back: "24h" (default), "30m", "7d", "2w" or an ISO date'
    )
    parser.add_argument(
        "--by",
        default="model",
        choices=("model", "route", "provider", "session", "day"),
        help="group by the upstream model (default), route, provider, Claude Code session or UTC day",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON (the server's /cc-proxy/usage)")
    parser.add_argument(
        "--config", metavar="PATH", help="cc-proxy.json whose server.usage.path to read (as serve finds it)"
    )
    parser.add_argument("--db", metavar="PATH", help="the usage database itself (overrides the config)")


def run(args: argparse.Namespace) -> int:
    import orjson

    from cc_proxy.server.observe.usage_query import UsageQueryError, parse_since, summary, table

    try:
        since = parse_since(args.since)
        path = Path(args.db) if args.db else _configured_path(args.config)
        report = summary(path, since, args.by)
    except (UsageQueryError, _ConfigProblem) as exc:
        print(f"cc-proxy usage: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # an unreadable database: say which, no traceback
        print(f"cc-proxy usage: cannot read the usage database: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        sys.stdout.write(orjson.dumps(report).decode() + "\n")
    else:
        sys.stdout.write(table(report))
    return 0


class _ConfigProblem(Exception):
    pass


def _configured_path(config: str | None) -> Path:
    from cc_proxy.engine.errors import ConfigError
    from cc_proxy.server.config_files import load_from_disk, locate_config
    from cc_proxy.server.observe.usage_db import database_path

    config_path = locate_config(config)
    try:
        snapshot = load_from_disk(config_path).snapshot
    except ConfigError as err:
        first = err.problems[0].render() if err.problems else "configuration has problems"
        raise _ConfigProblem(f"{config_path}: {first}") from None
    return database_path(snapshot.server.usage_path, snapshot.config_file)
