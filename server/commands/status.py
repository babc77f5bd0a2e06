"""`cc-proxy status [--json]`: is a cc-proxy running for this config, and how is it.

Finds the server as every command does (config discovery, then its PID file) and prints what its
/health reports: pid, URL, uptime, config and version, last reload, each provider configured or not
(the missing key named), each target's circuit. Exit 0 when running, 3 when not.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from cc_proxy.server.commands.options import EXIT_NOT_RUNNING, EXIT_OK, add_config_option, add_port_option


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)
    add_port_option(parser, "the server on this port (default: the one running for the config)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def proxy_token(config_path: str | None) -> str | None:
    """server.auth_token of the config, if it loads (a config broken since the server started still lets
    `status` report the running server)."""
    from cc_proxy.engine.errors import ConfigError
    from cc_proxy.server.config_files import load_from_disk

    try:
        return load_from_disk(config_path).snapshot.server.auth_token
    except ConfigError:
        return None


def run(args: argparse.Namespace) -> int:
    from cc_proxy.server.config_files import locate_config
    from cc_proxy.server.instance import find_instance, holder_of, running_instances
    from cc_proxy.server.local_server import fetch_health

    config_path = locate_config(args.config)
    # --port names the server itself, whatever config it serves (the hint a taken port prints)
    instance = holder_of(args.port) if args.port else find_instance(config_path)
    if instance is None:
        others = [f"port {i.port} (config {i.config_file or 'built-in default'})" for i in running_instances()]
        if args.json:
            print(json.dumps({"running": False, "config_file": config_path, "others": others}))
        else:
            print(f"cc-proxy is not running for {config_path or 'the built-in default'}"
                  + (f" (running: {', '.join(others)})" if others else ""))
        return EXIT_NOT_RUNNING
    health = fetch_health(instance, proxy_token(instance.config_file))
    report: dict[str, Any] = {"running": True, **_instance_fields(instance), "health": health}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        sys.stdout.write(render_text(report))
    return EXIT_OK


def _instance_fields(instance: Any) -> dict[str, Any]:
    return {
        "pid": instance.pid,
        "url": instance.url,
        "port": instance.port,
        "version": instance.version,
        "config_file": instance.config_file,
        "log_file": instance.log_file,
        "started_at": instance.started_at,
    }


def render_text(report: dict[str, Any]) -> str:
    health = report["health"]
    lines = [f"cc-proxy {report['version']} running: pid {report['pid']}, {report['url']}"]
    if report["log_file"]:
        lines.append(f"  log          {report['log_file']}")
    if health is None:
        lines.append("  health       no answer from /health")
        return "\n".join(lines) + "\n"
    lines.append(f"  uptime       {_duration(time.time() - report['started_at'])}")
    lines.append(f"  config       {health['config_file'] or 'built-in default'} (version {health['config_version']})")
    error = health.get("last_reload_error")
    reloads = f"{health['reloads']} reloads, {health['reloads_rejected']} rejected"
    lines.append(f"  last reload  {'rejected' if error else 'ok'} ({reloads})")
    lines.extend(f"    {problem}" for problem in error or ())
    lines.append(f"  status       {health['status']}")
    lines.extend(f"    {reason}" for reason in health.get("reasons") or ())
    for name, provider in (health.get("providers") or {}).items():
        state = "configured" if provider["configured"] else f"NOT configured: {provider['problem']}"
        lines.append(f"  provider     {name} ({provider['format']}): {state}")
    for alias, target in (health.get("targets") or {}).items():
        circuit = target["circuit"]
        if circuit == "open":
            circuit += f" for {target['open_for_s']:g} s more"
        elif circuit == "half-open":
            circuit += ", probe out" if target.get("probing") else ", next request probes"
        elif target.get("failures"):
            circuit += f", {target['failures']} recent failures"
        model = target["model"] or "(the client's model name)"
        lines.append(f"  target       {alias}: {target['provider']}/{model}: circuit {circuit}")
    for name, keys in (health.get("keys") or {}).items():  # key pools (server/key_pool.py), by position
        lines.append(f"  keys         {name}: " + ", ".join(_key_state(key) for key in keys))
    if health.get("tool_repairs"):
        lines.append(f"  tool repairs {health['tool_repairs']}")
    return "\n".join(lines) + "\n"


def _key_state(key: dict[str, Any]) -> str:
    state = f"resting {key['rest_s']:g} s" if key["state"] == "resting" else key["state"]
    return f"#{key['key']} {state} ({key['in_flight']} in flight, {key['sessions']} sessions)"


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
