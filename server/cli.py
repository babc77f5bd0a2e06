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
    "code": ("code", "run Claude Code through cc-proxy (starts the server in the background if needed)"),
    "env": ("env", "print the shell lines that point Claude Code at cc-proxy (for eval)"),
    "status": ("status", "is cc-proxy running for this config, and how is it (exit 3 when not running)"),
    "statusline": ("statusline", "a line for Claude Code's statusLine: the session's route, model and cost"),
    "stop": ("stop", "stop the cc-proxy running for this config, letting open requests finish"),
    "token": ("token", "print a new strong token for server.auth_token"),
    "usage": ("usage", "requests, tokens and cost from the usage history, by model, route, provider, session or day"),
}

EXIT_USAGE = 2


class VersionAction(argparse.Action):
    """--version, looked up only when asked for (importlib.metadata costs a few ms at every start)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print cc-proxy's version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        from cc_proxy.server.about import package_version

        print(f"cc-proxy {package_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cc-proxy", description="Claude Code to any LLM provider.")
    parser.add_argument("--version", action=VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(f"cc_proxy.server.commands.{module_name}")
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv  # as given: `serve --background` starts its detached child with the same options
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    module = importlib.import_module(f"cc_proxy.server.commands.{COMMANDS[args.command][0]}")
    result: int = module.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
