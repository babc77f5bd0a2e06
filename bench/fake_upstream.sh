# Sourced by run_bench.sh and run_floor.sh: start the shared harness's fake upstream on CPU 0 unless one
# already answers on UPSTREAM_PORT, and stop it (only one started here) when the script exits.
# Needs BENCH_PY, BENCH_DIR, UPSTREAM_PORT, OUT.
upstream_pid=""
stop_fake_upstream() {
    if [ -n "$upstream_pid" ]; then kill "$upstream_pid" 2>/dev/null || true; wait "$upstream_pid" 2>/dev/null || true; fi
}
trap stop_fake_upstream EXIT
if ! curl -fsS "http://127.0.0.1:$UPSTREAM_PORT/_stats" >/dev/null 2>&1; then
    taskset -c 0 "$BENCH_PY" "$BENCH_DIR/fake_upstream.py" --port "$UPSTREAM_PORT" >"$OUT/fake_upstream.log" 2>&1 &
    upstream_pid=$!
    for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$UPSTREAM_PORT/_stats" >/dev/null 2>&1 && break; sleep 0.1; done
fi
