#!/usr/bin/env bash
# The load scenarios of bench/RESULTS.md in one command. Each starts a fresh
# rill-core on its own temp data directory, runs `rill load` against it over
# ipc, and stops that rill-core by pid; then prints a table.
#
#   bench/run_load.sh [BIN_DIR]        (default build/bin; SECS=3 per scenario)
#
#   a   one command in flight (window 1), --busy-poll-us 0 (the default) and
#       50, next to the raw ZeroMQ DEALER/ROUTER echo (bench_transport) with
#       its server in this process and in a process of its own; the last
#       is the same topology as `rill load` -> rill-core
#   b   window 1000: acknowledged commands/s
#   c   batches of 64 (window 16): commands/s
#   d   --sync batch, window 1000: durable commands/s
set -euo pipefail
BIN=${1:-build/bin}
SECS=${SECS:-3}
[[ -x $BIN/rill-core && -x $BIN/rill ]] || { echo "run_load.sh: no rill-core/rill in $BIN" >&2; exit 2; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rill-load-XXXXXX")
CORE_PID=""
cleanup() {
  if [[ -n $CORE_PID ]]; then kill "$CORE_PID" 2>/dev/null || true; wait "$CORE_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

start_core() {  # data dir, extra rill-core args...
  local d=$1; shift
  mkdir -p "$d"
  "$BIN/rill-core" --data "$d" "$@" >"$d.log" 2>&1 &
  CORE_PID=$!
  for _ in $(seq 100); do [[ -S $d/run/command ]] && return 0; sleep 0.1; done
  echo "run_load.sh: rill-core did not start (see $d.log)" >&2; cat "$d.log" >&2; exit 1
}
stop_core() {
  kill "$CORE_PID"; wait "$CORE_PID" 2>/dev/null || true; CORE_PID=""
}
ROWS=()
scenario() {  # name, core args (quoted string), load args...
  local name=$1 core_args=$2; shift 2
  local d=$WORK/$name
  # shellcheck disable=SC2086
  start_core "$d" $core_args
  "$BIN/rill" load --data "$d" --json "$@" >"$WORK/$name.json" 2>/dev/null || true
  stop_core
  ROWS+=("$(python3 - "$WORK/$name.json" "$name" "$core_args" "$*" <<'PY'
import json, sys
path, name, core, args = sys.argv[1:5]
try:
    r = json.load(open(path))
except Exception:
    print(f"{name}|{core}|{args}|FAILED|||||"); sys.exit()
l = r["latency_us"]
print(f"{name}|{core or '-'}|{args}|{r['throughput']:.0f}|{l['p50']}|{l['p99']}|{l['p999']}|{l['max']}|{r['ok']}/{r['failed']}/{r['lost']}")
PY
)")
}

scenario a_bp0   "--busy-poll-us 0"  --window 1 --duration "$SECS"
scenario a_bp50  "--busy-poll-us 50" --window 1 --duration "$SECS"

# The echo runs right after (a), so that both see the same phase of a noisy host.
ZMQ=""
if [[ -x $BIN/bench_transport ]]; then
  "$BIN/bench_transport" --benchmark_filter='BM_Echo' --benchmark_min_time=2 \
      --benchmark_format=json >"$WORK/zmq.json" 2>/dev/null || true
  ZMQ=$(python3 - "$WORK/zmq.json" "$WORK/a_bp0.json" <<'PY' || true
import json, sys
echo = {}
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    print("%s: p50 %.1f us, p99 %.1f us, %.0f msgs/s" % (b["name"], b.get("p50_us", 0), b.get("p99_us", 0), b["msgs_per_s"]))
    echo[b["name"].split("/")[0] + "/" + b["name"].split("/")[1]] = b
try:
    a = json.load(open(sys.argv[2]))["latency_us"]
except Exception:
    sys.exit()
for name, what in (("BM_EchoRoundTripTwoProcesses/0", "two processes, blocking (the same topology)"),
                   ("BM_EchoRoundTrip/0", "one process, blocking")):
    if name in echo and echo[name].get("p50_us"):
        e = echo[name]
        print("a_bp0 / echo %s: p50 %.2fx, p99 %.2fx" % (what, a["p50"] / e["p50_us"], a["p99"] / e["p99_us"]))
PY
)
fi

scenario b_w1000 ""                  --window 1000 --duration "$SECS"
scenario c_b64   ""                  --batch 64 --window 16 --duration "$SECS"
scenario d_sync  "--sync batch"      --window 1000 --duration "$SECS"

{
  echo "scenario|rill-core|rill load|cmd/s|p50 us|p99 us|p99.9 us|max us|ok/failed/lost"
  printf '%s\n' "${ROWS[@]}"
} | column -t -s '|'
if [[ -n $ZMQ ]]; then echo; echo "raw ZeroMQ DEALER/ROUTER echo over ipc (bench_transport):"; echo "$ZMQ"; fi
