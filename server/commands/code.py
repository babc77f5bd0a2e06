"""`cc-proxy code [--claude PATH] [-- claude args...]`: Claude Code through cc-proxy in one command.

Finds the cc-proxy running for this config (server/instance.py), or starts one in the background and
waits for its /health, then runs `claude` (from PATH, or --claude) in place of this process with the
variables of server/client_env.py: Claude's exit code is this command's, and a server started here keeps
running for the next `code` until `cc-proxy stop`. Claude Code's status line is set to `cc-proxy
statusline` unless the user has one (server/commands/code_statusline.py) or passes --no-statusline.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from typing import TYPE_CHECKING

from cc_proxy.server.commands.options import EXIT_INVALID, EXIT_USAGE, add_config_option, add_port_option

if TYPE_CHECKING:
    from cc_proxy.engine.snapshot import Snapshot

HEALTH_WAIT = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)
    add_port_option(parser, "use (or start) the server on this port (default: server.port of the config)")
    parser.add_argument("--claude", metavar="PATH", help="the Claude Code executable (default: `claude` from PATH)")
    parser.add_argument("--no-statusline", action="store_true",
                        help="do not set Claude Code's statusLine to `cc-proxy statusline`")
    parser.add_argument("claude_args", nargs=argparse.REMAINDER, metavar="-- CLAUDE_ARGS",
                        help="passed to claude as they are")


def load_config(config_path: str | None) -> Snapshot | int:
    """The config's snapshot, or the exit code after printing its problems (as `check` would)."""
    from cc_proxy.server.config_files import ConfigLoadError, load_from_disk

    try:
        return load_from_disk(config_path).snapshot
    except ConfigLoadError as err:
        for problem in err.problems:
            print(problem.render(), file=sys.stderr)
        return EXIT_USAGE if err.config_unreadable else EXIT_INVALID


def url_for(snapshot: Snapshot, port: int | None) -> str:
    """Where a server for `snapshot` listens locally (before one runs)."""
    host = snapshot.server.host
    local = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "[::]": "[::1]"}.get(host, host)
    if ":" in local and not local.startswith("["):
        local = f"[{local}]"
    prefix = snapshot.server.mount_prefix.strip("/")
    return f"http://{local}:{port or snapshot.server.port}" + (f"/{prefix}" if prefix else "")


def run(args: argparse.Namespace) -> int:
    from cc_proxy.server.background import StartFailed, Starting
    from cc_proxy.server.client_env import client_env
    from cc_proxy.server.config_files import locate_config
    from cc_proxy.server.instance import find_instance
    from cc_proxy.server.local_server import wait_healthy

    claude_args = list(args.claude_args)
    if claude_args[:1] == ["--"]:
        claude_args = claude_args[1:]
    claude = shutil.which(args.claude or "claude")
    if claude is None:
        print(f"cc-proxy code: {args.claude or 'claude'} not found (install Claude Code, or pass --claude PATH)",
              file=sys.stderr)
        return EXIT_USAGE
    config_path = locate_config(args.config)
    instance = find_instance(config_path, args.port)
    starting = None
    if instance is None:  # start it first: it boots while this process loads the config
        serve_argv = ["serve", *(["--config", config_path] if config_path else [])]
        serve_argv += ["--port", str(args.port)] if args.port is not None else []
        starting = Starting(serve_argv)
    snapshot = load_config(config_path)
    if isinstance(snapshot, int):  # its problems are printed; the server started above fails on them too
        if starting is not None:
            starting.wait()
        return snapshot
    if starting is not None:
        started = starting.wait()
        if isinstance(started, StartFailed):
            sys.stderr.write(started.output)
            return started.exit_code
        instance = started
        print(f"cc-proxy: started in the background: pid {instance.pid}, {instance.url}, log {instance.log_file} "
              "(`cc-proxy stop` stops it)", file=sys.stderr)
    assert instance is not None
    if wait_healthy(instance, snapshot.server.auth_token, HEALTH_WAIT) is None:
        print(f"cc-proxy code: the server at {instance.url} does not answer /health", file=sys.stderr)
        return EXIT_INVALID
    env = client_env(snapshot, instance.url, os.environ)
    for note in env.notes:
        print(f"cc-proxy code: {note}", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    child_env = env.apply(os.environ)
    if not args.no_statusline:
        from pathlib import Path

        from cc_proxy.server.commands.code_statusline import statusline_args

        claude_args = [*statusline_args(claude_args, child_env, Path.cwd()), *claude_args]
    os.execve(claude, [claude, *claude_args], child_env)  # claude's exit code is ours
    return EXIT_INVALID  # not reached
