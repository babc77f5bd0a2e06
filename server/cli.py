"""`cc-proxy` command line: one module per subcommand under server/commands/, imported lazily so
`check` and `explain` start fast and never pay for the server's imports."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# subcommand -> (module under server.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("serve", "run the proxy (hot-reloads cc-proxy.json and rule files)"),
    "check": ("check", "validate cc-proxy.json and its rule files exactly as the server loads them"),
    "explain": ("explain", "dry-run the rule engine on a captured request: features, rules tried, route, diff"),
}

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cc-proxy", description="Claude Code to any LLM provider.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(f"cc_proxy.server.commands.{module_name}")
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    module = importlib.import_module(f"cc_proxy.server.commands.{COMMANDS[args.command][0]}")
    result: int = module.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
