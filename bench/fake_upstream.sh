# Sourced by run_bench.sh and run_floor.sh: start the shared harness's fake upstream on CPU 0 unless one
# already answers on UPSTREAM_PORT, and stop it (only one started here) when the script exits.
# Needs BENCH_PY, BENCH_DIR, UPSTREAM_PORT, OUT (and REPO, EXTRA_PORT for start_extra_upstream).
upstream_pid=""
extra_pid=""
stop_fake_upstream() {
    if [ -n "$upstream_pid" ]; then kill "$upstream_pid" 2>/dev/null || true; wait "$upstream_pid" 2>/dev/null || true; fi
    if [ -n "$extra_pid" ]; then kill "$extra_pid" 2>/dev/null || true; wait "$extra_pid" 2>/dev/null || true; fi
}
# Gemini / OpenAI Responses fake (bench/fake_upstream_extra.py) on EXTRA_PORT, started on demand; it learns
# its answer from the shared fake on UPSTREAM_PORT, so that one must be up first.
start_extra_upstream() {
    if [ -n "$extra_pid" ] || curl -fsS "http://127.0.0.1:$EXTRA_PORT/_stats" >/dev/null 2>&1; then return 0; fi
    taskset -c 0 "$BENCH_PY" "$REPO/bench/fake_upstream_extra.py" --port "$EXTRA_PORT" \
        --source "http://127.0.0.1:$UPSTREAM_PORT" >"$OUT/fake_upstream_extra.log" 2>&1 &
    extra_pid=$!
    for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$EXTRA_PORT/_stats" >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "extra fake upstream did not start, see $OUT/fake_upstream_extra.log" >&2; return 1
}
trap stop_fake_upstream EXIT
if ! curl -fsS "http://127.0.0.1:$UPSTREAM_PORT/_stats" >/dev/null 2>&1; then
    taskset -c 0 "$BENCH_PY" "$BENCH_DIR/fake_upstream.py" --port "$UPSTREAM_PORT" >"$OUT/fake_upstream.log" 2>&1 &
    upstream_pid=$!
    for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$UPSTREAM_PORT/_stats" >/dev/null 2>&1 && break; sleep 0.1; done
fi
