#!/usr/bin/env bash
# Measure cc-proxy with the shared harness (/work/shared/bench): both upstream formats, `large` preset,
# proxy pinned to CPU 1, harness and fake upstream to CPU 0. Writes bench-results/*.jsonl, prints the report.
#
#   bench/run_bench.sh                       # full run (cold start x3, c=1,10,50)
#   CONC=1 N=300 ROUNDS=3 bench/run_bench.sh # only concurrency 1, more samples
#
#   FORMATS=gemini,responses bench/run_bench.sh  # Gemini / OpenAI Responses upstreams (bench/fake_upstream_extra.py)
#
# Env: BENCH_DIR (harness), BENCH_PY (harness venv python), UPSTREAM_PORT, EXTRA_PORT (9101: the extra fake,
#      also the direct baseline for gemini and responses), PROXY_PORT, CONC, N, ROUNDS,
#      FORMATS (anthropic,openai,gemini,responses), TAG (results name suffix), EXTRA (extra `cc-proxy serve` args).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/work/shared/bench}
BENCH_PY=${BENCH_PY:-/work/bench-venv/bin/python}
PROXY_BIN=${PROXY_BIN:-$REPO/.venv/bin/cc-proxy}
UPSTREAM_PORT=${UPSTREAM_PORT:-9100}
EXTRA_PORT=${EXTRA_PORT:-9101}
PROXY_PORT=${PROXY_PORT:-8100}
CONC=${CONC:-1,10,50}
N=${N:-200}
ROUNDS=${ROUNDS:-2}
FORMATS=${FORMATS:-anthropic,openai}
TAG=${TAG:-}
EXTRA=${EXTRA:-}
OUT=$REPO/bench-results
mkdir -p "$OUT"

# shellcheck source=bench/fake_upstream.sh
source "$REPO/bench/fake_upstream.sh"

files=()
for format in ${FORMATS//,/ }; do
    # anthropic/openai talk to the shared fake; gemini/responses to the extra one, which is then also the
    # direct baseline (it answers /v1/messages with the shared fake's answer).
    case $format in
        gemini|responses) start_extra_upstream; port=$EXTRA_PORT ;;
        *) port=$UPSTREAM_PORT ;;
    esac
    # The committed configs name port 9100 or 9101; point them at this run's upstream.
    config=$OUT/cc-proxy-$format.json
    sed -e "s#127.0.0.1:9100#127.0.0.1:$UPSTREAM_PORT#" -e "s#127.0.0.1:9101#127.0.0.1:$EXTRA_PORT#" \
        "$REPO/bench/configs/$format.json" >"$config"
    name=cc-proxy-$format$TAG
    result=$OUT/$name.jsonl
    rm -f "$result"
    # shellcheck disable=SC2086
    (cd "$BENCH_DIR" && "$BENCH_PY" bench.py --name "$name" --proxy-url "http://127.0.0.1:$PROXY_PORT" \
        --upstream "http://127.0.0.1:$port" --out "$result" --proxy-cpus 1 --harness-cpus 0 \
        -c "$CONC" -n "$N" --rounds "$ROUNDS" --log "$OUT/$name.log" \
        -- "$PROXY_BIN" serve --config "$config" --port "$PROXY_PORT" $EXTRA)
    files+=("$result")
done
(cd "$BENCH_DIR" && "$BENCH_PY" report.py "${files[@]}")
