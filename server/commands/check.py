"""`cc-proxy check [--config PATH]`: validate the configuration with the very loader `serve` uses.

Prints every problem as `file:line:col: code: message (at $.json.path)`, then one summary line.
Exit 0: valid (warnings allowed); 1: invalid; 2: usage error (the config file cannot be read).
"""

from __future__ import annotations

import argparse
from typing import TextIO

from cc_proxy.server.commands.options import EXIT_INVALID, EXIT_OK, EXIT_USAGE, add_config_option


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    import sys

    from cc_proxy.server.config_files import ConfigLoadError, load_from_disk, locate_config

    stream = out if out is not None else sys.stdout
    config_path = locate_config(args.config)
    name = config_path if config_path is not None else "built-in default"
    try:
        loaded = load_from_disk(config_path)
    except ConfigLoadError as err:
        for problem in err.problems:
            print(problem.render(), file=stream)
        errors = sum(1 for p in err.problems if p.severity == "error")
        warnings = len(err.problems) - errors
        checked = _count(len(err.files), "file")
        print(f"{name}: {_count(errors, 'error')}, {_count(warnings, 'warning')} ({checked} checked)", file=stream)
        return EXIT_USAGE if err.config_unreadable else EXIT_INVALID
    for warning in loaded.snapshot.warnings:
        print(warning.render(), file=stream)
    files = _count(len(loaded.files) + (1 if config_path is None else 0), "file")
    print(f"ok: {name}: {_count(len(loaded.snapshot.warnings), 'warning')} ({files} checked)", file=stream)
    return EXIT_OK
