"""Python hooks (`hooks` in cc-proxy.json): the escape hatch for what no declarative rule can express.

`{"request": "my_hooks:before", "response": "my_hooks:after"}` names functions in modules next to the
config file or on PYTHONPATH, imported when the config is loaded (start, every reload, `check`): a
module that fails to import is a config problem with its file and line, so a broken edit is rejected
like any invalid config and the previous hooks keep serving. A hook is `hook(payload, ctx)`, plain or
`async`; it returns a new payload, or None to keep the one it got (which it may have changed in
place). A hook that raises answers 500 naming the request id, and logs where it raised; it never
takes the server down.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import logging
import os
import sys
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import orjson

from cc_proxy.engine.decide import Decision
from cc_proxy.engine.errors import ConfigProblem, ProxyError
from cc_proxy.engine.source import Locator
from cc_proxy.server.logging_setup import log_event

log = logging.getLogger("cc_proxy")

HookResult = dict[str, Any] | None
HookFunction = Callable[[dict[str, Any], "HookContext"], HookResult | Awaitable[HookResult]]
KINDS = ("request", "response")
# Client headers a hook never sees: credentials of any kind.
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "cookie", "set-cookie"})
_SECRET_WORDS = ("key", "token", "secret", "auth", "password", "credential")


@dataclass(frozen=True, slots=True)
class HookContext:
    """What a hook may know about the request; read-only, except `upstream_headers`, where a request
    hook may add headers to the upstream request (the credential is set after them and always wins)."""

    request_id: str
    route: str | None
    rule: str | None
    target: str  # model alias
    provider: str
    model: str  # upstream model name
    stream: bool
    headers: Mapping[str, str]  # the client's headers, lower-case, credentials removed
    upstream_headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, decision: Decision, request_id: str, stream: bool, headers: Mapping[str, str]) -> HookContext:
        target = decision.target
        return cls(
            request_id=request_id,
            route=decision.route,
            rule=decision.rule_id,
            target=target.alias,
            provider=target.provider.name,
            model=target.upstream_model or decision.requested_model,
            stream=stream,
            headers=safe_headers(headers),
        )


def safe_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(
        {
            name: value
            for name, value in headers.items()
            if name not in _SECRET_HEADERS and not any(word in name for word in _SECRET_WORDS)
        }
    )


class HookFailed(ProxyError):
    """A hook raised or returned something unusable: a 500 naming the request."""


@dataclass(frozen=True, slots=True)
class Hook:
    kind: str  # "request" or "response"
    ref: str  # "module:function", as configured
    function: HookFunction = field(repr=False)

    async def __call__(self, payload: dict[str, Any], ctx: HookContext) -> dict[str, Any]:
        try:
            out = self.function(payload, ctx)
            if inspect.isawaitable(out):
                out = await out
        except Exception as exc:
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            at = f"{os.path.basename(frame.filename)}:{frame.lineno} in {frame.name}"
            log_event(
                log, logging.ERROR, "hook_failed", request_id=ctx.request_id, hook=self.ref, kind=self.kind,
                exception=type(exc).__name__, at=at,
            )  # fmt: skip
            raise HookFailed(500, f"{self.kind} hook {self.ref} failed (request {ctx.request_id})") from None
        if out is None:
            return payload
        if not isinstance(out, dict):
            log_event(
                log, logging.ERROR, "hook_failed", request_id=ctx.request_id, hook=self.ref, returned=type(out).__name__
            )
            returned = type(out).__name__
            message = f"{self.kind} hook {self.ref} returned {returned}, not a dict or None (request {ctx.request_id})"
            raise HookFailed(500, message)
        return out


@dataclass(frozen=True, slots=True)
class Hooks:
    request: Hook | None = None
    response: Hook | None = None
    files: tuple[str, ...] = ()  # the hook modules' source files: watched, and part of the version
    digest: str = ""  # hash of those files' contents


def load_hooks(
    refs: Mapping[str, str], config_path: str | None, locator: Locator | None
) -> Hooks | list[ConfigProblem]:
    """Import every configured hook afresh (a reload sees the edited module), or say why not."""
    base = os.path.abspath(os.path.dirname(config_path)) if config_path else os.getcwd()
    if base not in sys.path:
        sys.path.insert(0, base)  # modules next to the config file
    problems: list[ConfigProblem] = []
    loaded: dict[str, Hook] = {}
    files: list[str] = []
    for kind in KINDS:
        ref = refs.get(kind)
        if ref is None:
            continue
        found = _load_one(kind, ref, config_path or "cc-proxy.json", locator)
        if isinstance(found, ConfigProblem):
            problems.append(found)
            continue
        hook, source = found
        loaded[kind] = hook
        if source and source not in files:
            files.append(source)
    if problems:
        return problems
    digest = hashlib.sha256()
    for path in files:
        with open(path, "rb") as handle:
            digest.update(handle.read())
    return Hooks(loaded.get("request"), loaded.get("response"), tuple(files), digest.hexdigest()[:12])


def _load_one(
    kind: str, ref: str, config_file: str, locator: Locator | None
) -> tuple[Hook, str | None] | ConfigProblem:
    at = f"$.hooks.{kind}"

    def problem(code: str, message: str, file: str | None = None, line: int | None = None) -> ConfigProblem:
        if file is None and locator is not None:
            return locator.problem(at, code, message)
        return ConfigProblem(code, message, file or config_file, at, line)

    module_name, _, function_name = ref.partition(":")
    _forget(module_name)
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as exc:
        return problem("hook-import", f"hook {ref}: {exc.msg}", exc.filename or config_file, exc.lineno)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return problem(
                "hook-import", f"hook {ref}: no module named {exc.name!r} next to the config or on PYTHONPATH"
            )
        return _raised(ref, exc, problem)
    except Exception as exc:  # the module raised while importing: where, in its own file
        return _raised(ref, exc, problem)
    function = getattr(module, function_name, None)
    if not callable(function):
        return problem("hook-import", f"hook {ref}: module {module_name!r} has no function {function_name!r}")
    return Hook(kind, ref, function), getattr(module, "__file__", None)


def _raised(ref: str, exc: BaseException, problem: Callable[..., ConfigProblem]) -> ConfigProblem:
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if "importlib" not in f.filename] or frames
    frame = own[-1]
    return problem(
        "hook-import", f"hook {ref}: importing raised {type(exc).__name__}: {exc}", frame.filename, frame.lineno
    )


def _forget(module_name: str) -> None:
    """Drop the user's module (and its submodules) from the import cache, so the next import reads the
    edited file; installed packages and the standard library stay as they are."""
    installed = tuple(os.path.abspath(p) + os.sep for p in {sys.prefix, sys.base_prefix})
    for name in [n for n in sys.modules if n == module_name or n.startswith(module_name + ".")]:
        path = getattr(sys.modules[name], "__file__", None) or ""
        if path and not os.path.abspath(path).startswith(installed):
            del sys.modules[name]


def event_transform(hook: Hook, ctx: HookContext) -> Callable[[bytes], Awaitable[bytes]]:
    """A stream's response hook: each translated event's payload through `hook`, re-encoded. A hook
    that fails mid-stream ends the answer with an in-band error naming the request."""
    from cc_proxy.engine.wire.sse import SSEDecoder, encode
    from cc_proxy.engine.wire.types import SSEEvent

    failed = False

    async def transform(data: bytes) -> bytes:
        nonlocal failed
        out: list[bytes] = []
        for event in SSEDecoder().feed(data):  # the relay sends whole events only
            if failed:
                break
            try:
                payload = orjson.loads(event.data)
            except orjson.JSONDecodeError:
                payload = None
            if not isinstance(payload, dict):
                out.append(encode(event))
                continue
            try:
                payload = await hook(payload, ctx)
            except HookFailed as err:
                failed = True
                error = {"type": "error", "error": {"type": "api_error", "message": err.message}}
                out.append(encode(SSEEvent(orjson.dumps(error).decode(), "error")))
                break
            out.append(encode(SSEEvent(orjson.dumps(payload).decode(), event.event)))
        return b"".join(out)

    return transform


def copy_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """A deep copy a hook may change in place (the decided request shares parts with the client's)."""
    copied: dict[str, Any] = orjson.loads(orjson.dumps(payload))
    return copied
