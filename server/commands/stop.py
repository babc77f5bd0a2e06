"""`cc-proxy stop`: stop the cc-proxy running for this config, gracefully (open requests, streams
included, finish first, up to the server's grace period), and say what it did."""

from __future__ import annotations

import argparse
import os
import signal
import time

from cc_proxy.server.commands.options import (
    EXIT_INVALID,
    EXIT_NOT_RUNNING,
    EXIT_OK,
    add_config_option,
    add_port_option,
)

GRACE = 15.0  # the server's graceful shutdown timeout (server/app.py)
MARGIN = 10.0  # seconds beyond the grace period before `stop` gives up waiting


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)
    add_port_option(parser, "the server on this port (default: the one running for the config)")


def run(args: argparse.Namespace) -> int:
    from cc_proxy.server.commands.status import proxy_token
    from cc_proxy.server.config_files import locate_config
    from cc_proxy.server.instance import find_instance, holder_of, is_running
    from cc_proxy.server.local_server import fetch_health

    config_path = locate_config(args.config)
    # --port names the server itself, whatever config it serves (the hint a taken port prints)
    instance = holder_of(args.port) if args.port else find_instance(config_path)
    if instance is None:
        where = f"port {args.port}" if args.port else (config_path or "the built-in default")
        print(f"cc-proxy is not running for {where}: nothing to stop")
        return EXIT_NOT_RUNNING
    health = fetch_health(instance, proxy_token(instance.config_file), timeout=2.0)
    open_now = int(health.get("in_flight", 0)) if health else 0
    started = time.monotonic()
    try:
        os.kill(instance.pid, signal.SIGTERM)
    except ProcessLookupError:
        print(f"cc-proxy pid {instance.pid} had already exited")
        return EXIT_OK
    if open_now:
        noun = "request" if open_now == 1 else "requests"
        print(f"cc-proxy pid {instance.pid}: waiting up to {GRACE:g} s for {open_now} open {noun} to finish",
              flush=True)
    delay = 0.01
    while is_running(instance):
        if time.monotonic() - started > GRACE + MARGIN:
            print(f"cc-proxy pid {instance.pid} is still running after {GRACE + MARGIN:g} s; "
                  f"`kill -9 {instance.pid}` ends it at once")
            return EXIT_INVALID
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
    print(f"stopped cc-proxy pid {instance.pid} ({instance.url}) in {time.monotonic() - started:.1f} s")
    return EXIT_OK
