"""cc-proxy's shell around the engine: the Sanic app, CLI, upstream client, reload watcher, metrics."""

import sys

# Two optional C accelerators that dependencies load whenever they are installed, for code cc-proxy never
# runs. A None entry in sys.modules makes their import raise ImportError, and each library falls back
# to its documented pure-Python path (setdefault: a process that already loaded one keeps it).
# - ujson: Sanic's JSON helpers (cc-proxy's bodies go through orjson); brings decimal along.
# - frozenlist._frozenlist: aiohttp's signal lists (trace configs, aiohttp.web), built as C++ so it maps
#   libstdc++; the upstream client registers no signals.
# Together ~1.3 MB of resident memory per worker and ~5 ms of start-up (bench/README.md).
for _accelerator in ("ujson", "frozenlist._frozenlist"):
    sys.modules.setdefault(_accelerator, None)  # type: ignore[arg-type]
