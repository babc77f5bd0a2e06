"""The environment Claude Code needs to use a running cc-proxy: what `cc-proxy code` sets and
`cc-proxy env` prints.

- ANTHROPIC_BASE_URL: the server's URL (mount prefix included).
- When the config forwards the client's own key to a provider (`"api_key": "forward"`, the built-in
  default), the user's ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN are left alone (and so is a Claude
  login); the proxy's token, when one is configured, goes in whichever of the two the user has not set.
- Otherwise the config holds the provider keys: Claude Code still refuses to start without some key
  ("Not logged in"), so it gets the proxy's token, or a placeholder the proxy never forwards, as
  ANTHROPIC_AUTH_TOKEN (a bearer token: no "use this API key?" prompt), and ANTHROPIC_API_KEY is unset
  so a real key is not sent to the proxy for nothing.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from cc_proxy.engine.snapshot import Snapshot

PLACEHOLDER_KEY = "cc-proxy-holds-the-provider-keys"
API_KEY = "ANTHROPIC_API_KEY"
AUTH_TOKEN = "ANTHROPIC_AUTH_TOKEN"
SHELLS = ("bash", "zsh", "fish", "powershell")


@dataclass(frozen=True, slots=True)
class ClientEnv:
    set: dict[str, str]
    unset: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # said on stderr: why a variable could not be set

    def apply(self, environ: Mapping[str, str]) -> dict[str, str]:
        env = {k: v for k, v in environ.items() if k not in self.unset}
        env.update(self.set)
        return env


def client_env(snapshot: Snapshot, url: str, environ: Mapping[str, str]) -> ClientEnv:
    token = snapshot.server.auth_token
    variables = {"ANTHROPIC_BASE_URL": url}
    forwards = any(p.api_key.kind == "forward" for p in snapshot.providers.values())
    if not forwards:
        variables[AUTH_TOKEN] = token or PLACEHOLDER_KEY
        return ClientEnv(variables, unset=(API_KEY,))
    if not token:
        return ClientEnv(variables)
    if not environ.get(AUTH_TOKEN):
        variables[AUTH_TOKEN] = token
    elif not environ.get(API_KEY):
        variables[API_KEY] = token
    else:
        note = f"{API_KEY} and {AUTH_TOKEN} are both set and forwarded: the proxy's token cannot be added"
        return ClientEnv(variables, notes=(note,))
    return ClientEnv(variables)


def shell_lines(env: ClientEnv, shell: str) -> list[str]:
    """Lines for `eval` in `shell` (one of SHELLS)."""
    lines: list[str] = []
    for name in env.unset:
        if shell == "fish":
            lines.append(f"set -e {name}")
        elif shell == "powershell":
            lines.append(f"Remove-Item Env:{name} -ErrorAction SilentlyContinue")
        else:
            lines.append(f"unset {name}")
    for name, value in env.set.items():
        if shell == "fish":
            lines.append(f"set -gx {name} {shlex.quote(value)}")
        elif shell == "powershell":
            quoted = value.replace("'", "''")
            lines.append(f"$env:{name} = '{quoted}'")
        else:
            lines.append(f"export {name}={shlex.quote(value)}")
    return lines
