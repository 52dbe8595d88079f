#!/usr/bin/env bash
# Issue 3 (a) in pairs: one command in flight through rill-core, then the raw
# ZeroMQ DEALER/ROUTER echo with its server in a process of its own (the same
# topology: two processes, two ZeroMQ I/O threads), alternating, so that each
# pair sees the same phase of a noisy host. Prints every pair's p50 and p99,
# their ratio, and the median ratio.
#
#   bench/latency_pairs.sh [BIN_DIR] [ROUNDS]     (default build/bin, 5 rounds; SECS=3)
#
# rill-core runs with its defaults (--busy-poll-us 0) on a fresh temp data
# directory each round and is stopped by pid.
set -euo pipefail
BIN=${1:-build/bin}
ROUNDS=${2:-5}
SECS=${SECS:-3}
[[ -x $BIN/rill-core && -x $BIN/rill && -x $BIN/bench_transport ]] ||
  { echo "latency_pairs.sh: no rill-core/rill/bench_transport in $BIN" >&2; exit 2; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rill-pairs-XXXXXX")
CORE_PID=""
cleanup() {
  if [[ -n $CORE_PID ]]; then kill "$CORE_PID" 2>/dev/null || true; wait "$CORE_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

for r in $(seq "$ROUNDS"); do
  d=$WORK/r$r
  mkdir -p "$d"
  "$BIN/rill-core" --data "$d" >"$d.log" 2>&1 &
  CORE_PID=$!
  for _ in $(seq 100); do [[ -S $d/run/command ]] && break; sleep 0.1; done
  [[ -S $d/run/command ]] || { echo "latency_pairs.sh: rill-core did not start (see $d.log)" >&2; cat "$d.log" >&2; exit 1; }
  "$BIN/rill" load --data "$d" --window 1 --duration "$SECS" --json >"$WORK/rill$r.json" 2>/dev/null || true
  kill "$CORE_PID"; wait "$CORE_PID" 2>/dev/null || true; CORE_PID=""
  rm -rf "$d"
  # The benchmark runs 2 s (its MinTime in bench_transport.cc wins over the flag).
  "$BIN/bench_transport" --benchmark_filter='BM_EchoRoundTripTwoProcesses/0' \
      --benchmark_format=json >"$WORK/echo$r.json" 2>/dev/null || true
done

python3 - "$WORK" "$ROUNDS" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
print("round  rill p50/p99 us     echo p50/p99 us     p50 ratio  p99 ratio")
r50, r99 = [], []
for r in range(1, rounds + 1):
    try:
        a = json.load(open(f"{work}/rill{r}.json"))["latency_us"]
        e = json.load(open(f"{work}/echo{r}.json"))["benchmarks"][0]
    except Exception:
        print(f"{r:5}  FAILED"); continue
    x50, x99 = a["p50"] / e["p50_us"], a["p99"] / e["p99_us"]
    r50.append(x50); r99.append(x99)
    print(f"{r:5}  {a['p50']:7.1f} / {a['p99']:7.1f}   {e['p50_us']:7.1f} / {e['p99_us']:7.1f}   {x50:8.2f}x  {x99:8.2f}x")
if r50:
    print(f"median ratio: p50 {statistics.median(r50):.2f}x, p99 {statistics.median(r99):.2f}x "
          f"(issue 3 (a): p50 within 1.10x)")
PY
