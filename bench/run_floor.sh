#!/usr/bin/env bash
# The floor under cc-proxy on this machine, right now: the shared harness's bare Sanic + aiohttp
# pass-through (no parsing, no logic), measured exactly as bench/run_bench.sh measures cc-proxy.
# Run it next to run_bench.sh: this VM's noise moves both by the same amount.
#
#   bench/run_floor.sh            # CONC, N, ROUNDS, TAG as in run_bench.sh
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/work/shared/bench}
BENCH_PY=${BENCH_PY:-/work/bench-venv/bin/python}
PROXY_PY=${PROXY_PY:-$REPO/.venv/bin/python}  # has sanic and aiohttp
UPSTREAM_PORT=${UPSTREAM_PORT:-9100}
PROXY_PORT=${PROXY_PORT:-8100}
CONC=${CONC:-1}
N=${N:-500}
ROUNDS=${ROUNDS:-3}
TAG=${TAG:-}
OUT=$REPO/bench-results
mkdir -p "$OUT"

# shellcheck source=bench/fake_upstream.sh
source "$REPO/bench/fake_upstream.sh"
name=null-sanic-aiohttp$TAG
rm -f "$OUT/$name.jsonl"
(cd "$BENCH_DIR" && "$BENCH_PY" bench.py --name "$name" --proxy-url "http://127.0.0.1:$PROXY_PORT" \
    --upstream "http://127.0.0.1:$UPSTREAM_PORT" --out "$OUT/$name.jsonl" --proxy-cpus 1 --harness-cpus 0 \
    -c "$CONC" -n "$N" --rounds "$ROUNDS" --log "$OUT/$name.log" \
    -- "$PROXY_PY" null_proxy_sanic.py --client aiohttp --port "$PROXY_PORT" \
    --upstream "http://127.0.0.1:$UPSTREAM_PORT")
