"""Options and exit codes every command shares, so the same problem reads and exits the same way."""

from __future__ import annotations

import argparse

# Exit codes, the same for every command (README "Exit codes").
EXIT_OK = 0
EXIT_INVALID = 1  # the config is invalid, or the server cannot run with it (port taken, unsafe bind)
EXIT_USAGE = 2  # a usage error (argparse's own code too) or a file that cannot be read
EXIT_NOT_RUNNING = 3  # `status`, `stop`: no cc-proxy is running for this config

CONFIG_HELP = (
    "cc-proxy.json (default: $CC_PROXY_CONFIG, ./cc-proxy.json, ~/.config/cc-proxy/cc-proxy.json, "
    "else the built-in Anthropic pass-through)"
)


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="PATH", help=CONFIG_HELP)


def port_number(text: str) -> int:
    """argparse type for --port: 0-65535 (0 = any free port), else a usage error naming the value."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"out-of-range: {port} (a port is 0-65535; 0 = any free port)")
    return port


def add_port_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--port", type=port_number, metavar="PORT", help=help_text)
