"""`cc-proxy env [--shell bash|zsh|fish|powershell]`: the lines to `eval` so Claude Code (or any
Anthropic client) in this shell uses cc-proxy: the same variables `cc-proxy code` sets
(server/client_env.py), for the server running for this config, else for where it would listen."""

from __future__ import annotations

import argparse
import os
import sys

from cc_proxy.server.commands.options import EXIT_OK, add_config_option, add_port_option


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from cc_proxy.server.client_env import SHELLS

    add_config_option(parser)
    add_port_option(parser, "the server on this port (default: the one running for the config)")
    parser.add_argument("--shell", choices=SHELLS, default=None,
                        help="syntax of the lines (default: from $SHELL, else bash)")


def default_shell(environ: dict[str, str] | os._Environ[str]) -> str:
    name = os.path.basename(environ.get("SHELL", ""))
    return {"zsh": "zsh", "fish": "fish", "pwsh": "powershell", "powershell": "powershell"}.get(name, "bash")


def run(args: argparse.Namespace) -> int:
    from cc_proxy.server.client_env import client_env, shell_lines
    from cc_proxy.server.commands.code import load_config, url_for
    from cc_proxy.server.config_files import locate_config
    from cc_proxy.server.instance import find_instance

    config_path = locate_config(args.config)
    loaded = load_config(config_path)
    if isinstance(loaded, int):
        return loaded
    instance = find_instance(config_path, args.port)
    if instance is not None:
        url = instance.url
    else:
        url = url_for(loaded, args.port)
        print(f"# cc-proxy is not running for {config_path or 'the built-in default'}: "
              "start it with `cc-proxy serve --background`", file=sys.stderr)
    env = client_env(loaded, url, os.environ)
    for note in env.notes:
        print(f"# {note}", file=sys.stderr)
    print("\n".join(shell_lines(env, args.shell or default_shell(os.environ))))
    return EXIT_OK
