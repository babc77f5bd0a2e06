"""Where the configuration lives and how it is read: the one loader `serve`, hot reload, `check` and
`explain` share. Reads bytes (config file, rule files by glob, shipped `builtin:NAME` rule files as
package data) and hands them to the pure engine.load, which builds the Snapshot or reports problems.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.resources
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from cc_proxy.engine.errors import ConfigError, ConfigProblem
from cc_proxy.engine.load import ConfigDocument, SourceFile, build_snapshot, parse_config
from cc_proxy.engine.snapshot import Snapshot
from cc_proxy.engine.source import MAX_FILE_BYTES
from cc_proxy.engine.suggest import did_you_mean
from cc_proxy.server.config_locate import DEFAULT_NAME as DEFAULT_NAME
from cc_proxy.server.config_locate import ENV_CONFIG as ENV_CONFIG
from cc_proxy.server.config_locate import USER_CONFIG as USER_CONFIG
from cc_proxy.server.config_locate import locate_config as locate_config
from cc_proxy.server.hooks import load_hooks

BUILTIN_PREFIX = "builtin:"
_BUILTIN_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    snapshot: Snapshot
    watch_paths: tuple[str, ...]  # absolute: the config file, every rule file, every glob's directory
    files: tuple[str, ...]  # every file read, as displayed in problems


class ConfigLoadError(ConfigError):
    """A ConfigError that also says which files were read (for `check`'s summary)."""

    def __init__(self, problems: tuple[ConfigProblem, ...], files: tuple[str, ...]) -> None:
        super().__init__(problems)
        self.files = files

    @property
    def config_unreadable(self) -> bool:
        """The config file itself could not be read (missing, a directory, no permission)."""
        return any(p.code in ("config-not-found", "read-error") and p.json_path == "$" for p in self.problems)


def _read(path: str, display: str) -> bytes | ConfigProblem:
    """At most MAX_FILE_BYTES + 1 bytes (the engine reports a file above the cap)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return ConfigProblem("config-not-found", "no such file", display)
    except IsADirectoryError:
        return ConfigProblem("read-error", "is a directory, not a file", display)
    except OSError as exc:
        return ConfigProblem("read-error", f"cannot read: {exc.strerror or type(exc).__name__}", display)


def builtin_rule_names() -> tuple[str, ...]:
    package = importlib.resources.files("cc_proxy.rules")
    return tuple(sorted(p.name[:-5] for p in package.iterdir() if p.name.endswith(".json")))


def read_builtin(name: str) -> bytes | None:
    if not _BUILTIN_NAME.match(name):
        return None
    resource = importlib.resources.files("cc_proxy.rules").joinpath(f"{name}.json")
    return resource.read_bytes() if resource.is_file() else None


def _glob_dir(pattern: str) -> str:
    """The deepest directory of a pattern without wildcards: where new matching files would appear."""
    parts: list[str] = []
    for part in pattern.split(os.sep):
        if glob.has_magic(part):
            break
        parts.append(part)
    return os.sep.join(parts) or "."


def _resolve_rules(
    doc: ConfigDocument, base_dir: str
) -> tuple[list[SourceFile], list[ConfigProblem], list[str], set[str]]:
    """Rule files named by `rules`: (sources, problems, files read, watch paths). A glob never matches
    the config file itself (`"*.json"` next to cc-proxy.json)."""
    config_real = os.path.realpath(doc.path) if doc.path is not None else None
    sources: list[SourceFile] = []
    problems: list[ConfigProblem] = []
    seen: set[str] = set()
    watch: set[str] = set()
    for i, pattern in enumerate(doc.rule_patterns):
        at = f"$.rules[{i}]"
        if pattern.startswith(BUILTIN_PREFIX):
            name = pattern[len(BUILTIN_PREFIX) :]
            data = read_builtin(name)
            if data is None:
                hint = did_you_mean(name, builtin_rule_names())
                problems.append(doc.problem(at, "unknown-builtin", f"no built-in rule file {name!r}{hint}"))
            elif pattern not in seen:
                seen.add(pattern)
                sources.append(SourceFile(pattern, data, shipped=True))
            continue
        full = os.path.join(base_dir, os.path.expanduser(pattern))
        if glob.has_magic(pattern):
            found = glob.glob(full, recursive=True)
            matches = sorted(m for m in found if os.path.isfile(m) and os.path.realpath(m) != config_real)
            watch.add(os.path.abspath(_glob_dir(full)))
            if not matches:
                problems.append(doc.problem(at, "rules-no-match", f"{pattern!r} matches no file", "warning"))
        else:
            matches = [full]
        for path in matches:
            key = os.path.realpath(path)
            if key in seen:
                continue
            seen.add(key)
            watch.add(os.path.abspath(path))
            data_or_problem = _read(path, path)
            if isinstance(data_or_problem, ConfigProblem):
                code = "rules-not-found" if data_or_problem.code == "config-not-found" else "read-error"
                message = f"rule file {path!r}: {data_or_problem.message}"
                problems.append(doc.problem(at, code, message))
            else:
                sources.append(SourceFile(path, data_or_problem))
    return sources, problems, [s.path for s in sources], watch


def load_from_disk(config_path: str | None, env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Read and load everything; raises ConfigLoadError (a ConfigError) listing every problem."""
    environ = dict(os.environ if env is None else env)
    files: list[str] = []
    watch: set[str] = set()
    if config_path is None:
        source = None
        base_dir = "."
    else:
        data = _read(config_path, config_path)
        if isinstance(data, ConfigProblem):
            raise ConfigLoadError((data,), ())
        source = SourceFile(config_path, data)
        base_dir = os.path.dirname(config_path)
        files.append(config_path)
        watch.add(os.path.abspath(config_path))
    try:
        doc = parse_config(source)
    except ConfigError as err:
        raise ConfigLoadError(err.problems, tuple(files)) from None
    sources, problems, rule_files, rule_watch = _resolve_rules(doc, base_dir)
    files.extend(rule_files)
    watch |= rule_watch
    try:
        snapshot = build_snapshot(doc, sources, environ, problems)
    except ConfigError as err:
        raise ConfigLoadError(err.problems, tuple(files)) from None
    hooks = doc.config.hooks
    if hooks is not None and hooks.refs():
        found = load_hooks(hooks.refs(), config_path, doc.locator)
        if isinstance(found, list):
            raise ConfigLoadError((*found, *snapshot.warnings), tuple(files))
        files.extend(found.files)
        watch |= {os.path.abspath(f) for f in found.files}
        # An edited hook module is a new config: it reloads, and answers carry a new version.
        version = hashlib.sha256(f"{snapshot.version}:{found.digest}".encode()).hexdigest()[:12]
        snapshot = replace(snapshot, hooks=found, version=version)
    return LoadedConfig(snapshot, tuple(sorted(watch)), tuple(files))
