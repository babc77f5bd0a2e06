"""`cc-proxy serve`: load the config (exit 1 on problems, 2 when it cannot be read), refuse unsafe binds,
claim the port (one instance per port: server/instance.py), run the Sanic server; `--background` runs
it detached (server/background.py)."""

from __future__ import annotations

import argparse
import gc
import sys
from typing import TYPE_CHECKING

from cc_proxy.server.commands.options import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    add_config_option,
    add_port_option,
)

if TYPE_CHECKING:
    from cc_proxy.server.instance import Instance

LOG_LEVELS = ("debug", "info", "warning", "error")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)
    parser.add_argument("--host", help="listen address (overrides server.host)")
    add_port_option(parser, "listen port (overrides server.port; 0 = any free port)")
    parser.add_argument("--background", action="store_true",
                        help="run detached; the output goes to a log file in the user's state directory (printed "
                        "at start); `cc-proxy stop` stops it")
    # set by --background for the detached child: it moves its output to the log file once it knows its port
    parser.add_argument("--background-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1: one process)")
    parser.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="allow a non-loopback host without server.auth_token (anyone reaching it uses your keys)",
    )
    parser.add_argument(
        "--upstream-transport",
        choices=("aiohttp", "httpx"),
        default="aiohttp",
        help="HTTP client pool for upstream calls (default aiohttp: measured faster)",
    )
    parser.add_argument("--no-watch", action="store_true", help="do not hot-reload the config and rule files")
    parser.add_argument("--eject-after", type=int, default=5, metavar="N",
                        help="skip a target for a while after N consecutive failures while a fallback remains "
                        "(default 5; 0 = never)")
    parser.add_argument("--eject-for", type=float, default=30.0, metavar="SECONDS",
                        help="first ejection time, doubled on each repeat up to 300 s (default 30)")
    parser.add_argument("--retry-stop-after", type=int, default=3, metavar="N",
                        help="no retries to a target whose last N attempts all failed, until an attempt to it "
                        "succeeds: a dead provider costs about one attempt per request (default 3; 0 = off)")
    parser.add_argument("--header-timeout", type=float, default=10.0, metavar="SECONDS",
                        help="close a connection whose request head takes longer than this in total, however "
                        "slowly it trickles (default 10)")
    parser.add_argument("--body-timeout", type=float, default=15.0, metavar="SECONDS",
                        help="answer 408 and close a connection whose request body is not complete this long "
                        "after its head, however slowly it trickles (default 15; 0 = no limit)")
    parser.add_argument("--max-connections-per-ip", type=int, default=256, metavar="N",
                        help="close a new connection at once when its peer address already has N open, loopback "
                        "included; counted per worker process (default 256: a team behind one NAT address; "
                        "0 = no cap)")
    parser.add_argument("--log-level", choices=LOG_LEVELS, default="info",
                        help="lowest level of the JSON log lines on stderr (default info; debug adds e.g. "
                        "config_changed; keys and bodies are never logged at any level)")
    parser.add_argument("--no-metrics", action="store_true",
                        help="no Prometheus /metrics (and none of its per-request counting)")
    parser.add_argument("--no-usage", action="store_true",
                        help="write no usage history this run, whatever server.usage.enabled says")
    parser.add_argument("--reload-debounce-ms", type=int, default=1600, metavar="MS",
                        help="wait this long for a burst of file changes to settle before reloading (default 1600)")


def run(args: argparse.Namespace) -> int:
    if args.background:
        from cc_proxy.server.background import serve_in_background

        return serve_in_background([a for a in args.argv if a != "--background"])
    return serve_here(args)


def serve_here(args: argparse.Namespace) -> int:
    # Startup allocates ~100k long-lived objects (modules, classes, pydantic validators): collecting them
    # while they are built only costs time. Collection resumes, with them frozen, once the server listens.
    gc.disable()

    from cc_proxy.server.observe import multiprocess

    # Before anything imports prometheus_client: with several workers their metrics add up in files.
    cleanup_metrics = multiprocess.prepare(max(1, args.workers) if not args.no_metrics else 1)
    try:
        return _serve(args)
    finally:
        cleanup_metrics()


def _serve(args: argparse.Namespace) -> int:
    import errno
    import logging
    import os
    import socket
    import time

    from cc_proxy.server.about import package_version
    from cc_proxy.server.app import create_app
    from cc_proxy.server.config_files import ConfigLoadError, load_from_disk, locate_config
    from cc_proxy.server.connection_cap import server_protocol
    from cc_proxy.server.holder import SnapshotHolder
    from cc_proxy.server.instance import Instance, PortLock, config_identity, holder_of
    from cc_proxy.server.logging_setup import log_event, setup_logging
    from cc_proxy.server.settings import ServeSettings, bind_refusal

    log = setup_logging(logging.getLevelNamesMapping()[args.log_level.upper()], everything=True)
    config_path = locate_config(args.config)
    try:
        loaded = load_from_disk(config_path)
    except ConfigLoadError as err:
        for problem in err.problems:
            print(problem.render(), file=sys.stderr)
        print(f"cc-proxy: not started: {config_path or 'built-in default'} has problems", file=sys.stderr)
        return EXIT_USAGE if err.config_unreadable else EXIT_INVALID
    snapshot = loaded.snapshot
    settings = ServeSettings(
        config_path=config_path,
        host=args.host,
        port=args.port,
        workers=max(1, args.workers),
        allow_insecure_bind=args.insecure_no_auth,
        upstream_transport=args.upstream_transport,
        watch=not args.no_watch,
        reload_debounce_ms=max(1, args.reload_debounce_ms),
        eject_after=max(0, args.eject_after),
        eject_for=max(0.0, args.eject_for),
        retry_stop_after=max(0, args.retry_stop_after),
        header_timeout=max(0.1, args.header_timeout),
        body_timeout=max(0.0, args.body_timeout),
        max_connections_per_ip=max(0, args.max_connections_per_ip),
        metrics=not args.no_metrics,
        usage=not args.no_usage,
    )
    host, port = settings.bind(snapshot)
    refusal = bind_refusal(host, snapshot.server.auth_token, settings.allow_insecure_bind)
    if refusal is not None:
        print(f"cc-proxy: {refusal}", file=sys.stderr)
        return EXIT_INVALID
    for warning in snapshot.warnings:
        print(warning.render(), file=sys.stderr)

    lock = PortLock.acquire(port) if port else None  # port 0: claimed once the kernel has picked one
    if port and lock is None:
        print(f"cc-proxy: {port_taken(port, holder_of(port))}", file=sys.stderr)
        return EXIT_INVALID
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        if lock is not None:
            lock.release()
        hint = " (another program holds it; pick another port with --port)" if exc.errno == errno.EADDRINUSE else ""
        print(f"cc-proxy: cannot listen on {host}:{port}: {exc.strerror}{hint}", file=sys.stderr)
        return EXIT_INVALID
    sock.listen(1024)
    bound_port = sock.getsockname()[1]
    if lock is None:
        lock = PortLock.acquire(bound_port)
        if lock is None:  # a cc-proxy on the same port of another address
            print(f"cc-proxy: {port_taken(bound_port, holder_of(bound_port))}", file=sys.stderr)
            return EXIT_INVALID
    claimed: PortLock = lock
    log_file = None
    if args.background_child:
        from cc_proxy.server.background import move_output_to_log

        log_file = move_output_to_log(bound_port)
    log_event(log, logging.DEBUG, "serve_settings", config=config_path or "built-in default", host=host,
              port=bound_port, workers=settings.workers, transport=settings.upstream_transport,
              watch=settings.watch, header_timeout=settings.header_timeout, body_timeout=settings.body_timeout,
              max_connections_per_ip=settings.max_connections_per_ip)
    url_host = f"[{host.strip('[]')}]" if family == socket.AF_INET6 else host
    url = f"http://{url_host}:{bound_port}"
    # A wildcard bind is reached locally through loopback: that is what the export line should say.
    local_host = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host.strip("[]"), url_host)
    local_url = f"http://{local_host}:{bound_port}"
    prefix = "/" + snapshot.server.mount_prefix.strip("/") if snapshot.server.mount_prefix.strip("/") else ""

    instance = Instance(pid=os.getpid(), port=bound_port, url=f"{local_url}{prefix}",
                        config_file=config_identity(config_path), version=package_version(),
                        started_at=time.time(), log_file=log_file)

    def announce(app: object) -> None:
        gc.freeze()  # startup objects are never garbage: later collections need not scan them
        gc.enable()
        if settings.workers == 1:
            from cc_proxy.server.interrupt import handle_interrupts

            handle_interrupts(app, claimed.release)
        claimed.publish(instance)
        print(f"cc-proxy: config {snapshot.config_file or 'built-in default'} (version {snapshot.version})")
        for rule_file in snapshot.rule_files:
            print(f"cc-proxy: rules {rule_file}")
        print(f"cc-proxy listening on {url}")
        print(f"export ANTHROPIC_BASE_URL={local_url}{prefix}", flush=True)

    holder = SnapshotHolder(snapshot, tuple(loaded.watch_paths))
    protocol = server_protocol(settings.header_timeout, settings.max_connections_per_ip, settings.body_timeout)
    try:
        if settings.workers > 1:
            from sanic import Sanic

            app = create_app(settings, holder, load=load_from_disk)
            Sanic.start_method = "fork"  # workers inherit the loaded app instead of re-importing a module
            app.prepare(sock=sock, workers=settings.workers, access_log=False, motd=False, protocol=protocol)
            announce(app)  # once, from the main process: the socket already listens
            Sanic.serve(primary=app)
        else:
            app = create_app(settings, holder, load=load_from_disk, on_ready=announce)
            app.run(sock=sock, single_process=True, access_log=False, motd=False, protocol=protocol)
    finally:
        claimed.release()
    return EXIT_OK


def port_taken(port: int, holder: Instance | None) -> str:
    """Which process holds the port, and the two ways out."""
    if holder is None:
        return f"port {port} is taken by another cc-proxy that is still starting; pick another with --port"
    config = holder.config_file or "the built-in default"
    return (
        f"port {port} is taken by cc-proxy pid {holder.pid} ({holder.url}, config {config}): stop it with "
        f"`cc-proxy stop --port {port}`, or pick another port with --port"
    )
