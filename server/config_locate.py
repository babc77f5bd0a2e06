"""Where cc-proxy.json is, found the same way by every command. Stdlib only: `cc-proxy statusline`
runs on every Claude Code status update and must not pay for the engine's imports."""

from __future__ import annotations

import os
from collections.abc import Mapping

ENV_CONFIG = "CC_PROXY_CONFIG"
DEFAULT_NAME = "cc-proxy.json"
USER_CONFIG = os.path.join("~", ".config", "cc-proxy", DEFAULT_NAME)


def locate_config(cli_path: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """--config, then $CC_PROXY_CONFIG, then ./cc-proxy.json, then ~/.config/cc-proxy/cc-proxy.json;
    None: the built-in default. An explicit path is returned even if missing: loading it then fails
    with `config-not-found` rather than silently falling back."""
    environ = os.environ if env is None else env
    if cli_path:
        return cli_path
    if environ.get(ENV_CONFIG):
        return environ[ENV_CONFIG]
    if os.path.isfile(DEFAULT_NAME):
        return DEFAULT_NAME
    user = os.path.expanduser(USER_CONFIG)
    return user if os.path.isfile(user) else None
