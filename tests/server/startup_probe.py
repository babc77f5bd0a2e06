"""Child process for test_startup.py: runs `cc-proxy serve` in-process and reports, as one JSON line,
what the startup optimisations left behind: gc state when the server is ready, and Sanic's touch-up
before and after its deferral, the modules it kept out, the upstream trust store. Not a test module
(no `test_` prefix): test_startup.py runs it. argv: config path, then `watch` to keep the file watcher on."""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import threading
from typing import Any

import cc_proxy.server.app
import cc_proxy.server.cli

report: dict[str, Any] = {}
_create_app = cc_proxy.server.app.create_app


def probing_create_app(*args: Any, **kwargs: Any) -> Any:
    from sanic.http import Http

    app = _create_app(*args, **kwargs)

    @app.after_server_start
    async def probe(app: Any) -> None:
        report["gc_enabled_when_ready"] = gc.isenabled()
        report["frozen_objects"] = gc.get_freeze_count()
        report["touched_when_ready"] = getattr(Http, "__touched__", False)
        report["openai_translator_loaded"] = "cc_proxy.engine.wire.openai" in sys.modules
        report["responses_translator_loaded"] = "cc_proxy.engine.wire.responses" in sys.modules
        await asyncio.sleep(cc_proxy.server.app.TOUCH_UP_DELAY + 0.3)
        report["touched_later"] = getattr(Http, "__touched__", False)
        report["tokenizer_loaded"] = "tiktoken" in sys.modules
        if WATCH:  # the watcher starts after a delay, on its own thread, and imports what it needs there
            await asyncio.sleep(cc_proxy.server.app.WATCH_START_DELAY + 0.5)
            report["watching"] = any(t.name == "cc-proxy-reload" for t in threading.enumerate())
        report["modules_loaded"] = sorted(name for name in KEPT_OUT if sys.modules.get(name) is not None)
        context = app.ctx.state.client.upstream_transport.ssl_context
        report["upstream_trust_loaded"] = context.cert_store_stats()["x509_ca"] > 0
        app.stop()

    return app


WATCH = sys.argv[2:] == ["watch"]
# server/__init__.py's blocked accelerators, and what `import watchfiles` would add (server/reload.py)
KEPT_OUT = ("ujson", "frozenlist._frozenlist", "anyio", "watchfiles.main")
cc_proxy.server.app.create_app = probing_create_app  # serve imports it from server.app at call time
code = cc_proxy.server.cli.main(["serve", "--config", sys.argv[1], "--port", "0", *([] if WATCH else ["--no-watch"])])
print(json.dumps({**report, "exit": code}), flush=True)
