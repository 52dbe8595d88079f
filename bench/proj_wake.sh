#!/usr/bin/env bash
# How a same-host rill-proj is woken and how long it polls before sleeping,
# measured side by side in one run. VARIANTS (default "bell nobell") lists
# what each round runs, in turn:
#   bell     the journal's bell (journal/BELL) wakes it; the feed is unsubscribed
#   nobell   BELL is deleted after rill-core starts: the event feed wakes it
#   spin:N   the bell, and rill-proj --idle-spin-us N
#   coalesce:N  the bell, and rill-proj --wake-coalesce-us N
# Each round starts a fresh rill-core and a rill-proj hosting customers, runs
# `rill load --rate RATE --after-model customers` for SECS seconds, and
# prints the ack and `after` latencies and the CPU time each daemon used
# during the load (from /proc/PID/stat). Rounds alternate the two ways,
# because this machine is shared and noisy.
#
#   bench/proj_wake.sh [BIN_DIR]   (default build/bin; ROUNDS=2 RATE=20000 SECS=8)
#   VARIANTS="spin:0 spin:50" bench/proj_wake.sh
#   VARIANTS="coalesce:0 coalesce:200" bench/proj_wake.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-build/bin}
ROUNDS=${ROUNDS:-2} RATE=${RATE:-20000} SECS=${SECS:-8} VARIANTS=${VARIANTS:-bell nobell}
[[ -x $BIN/rill-core && -x $BIN/rill-proj && -x $BIN/rill ]] ||
  { echo "proj_wake.sh: no rill-core/rill-proj/rill in $BIN" >&2; exit 2; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rill-wake-XXXXXX")
CORE_PID="" PROJ_PID=""
stop() {
  if [[ -n $1 ]]; then kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; fi
}
cleanup() { stop "$PROJ_PID"; stop "$CORE_PID"; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # user + system, in clock ticks
hz=$(getconf CLK_TCK)

round() {  # bell|nobell|spin:N|coalesce:N
  local mode=$1 d=$WORK/round flags=()
  case $mode in
    spin:*) flags=(--idle-spin-us "${mode#spin:}") ;;
    coalesce:*) flags=(--wake-coalesce-us "${mode#coalesce:}") ;;
  esac
  mkdir -p "$d"
  "$BIN/rill-core" --data "$d" >"$d.core.log" 2>&1 &
  CORE_PID=$!
  for _ in $(seq 100); do [[ -S $d/run/command ]] && break; sleep 0.1; done
  [[ $mode == nobell ]] && rm -f "$d/journal/BELL"
  "$BIN/rill-proj" --data "$d" --models customers "${flags[@]}" >"$d.proj.log" 2>&1 &
  PROJ_PID=$!
  for _ in $(seq 100); do [[ -S $d/run/model.customers ]] && break; sleep 0.1; done
  sleep 0.5
  local c0 p0 c1 p1
  c0=$(ticks "$CORE_PID") p0=$(ticks "$PROJ_PID")
  "$BIN/rill" load --data "$d" --rate "$RATE" --window 1000 --mix create:50,update:50 \
    --duration "$SECS" --after-model customers --json >"$d.json" 2>"$d.err" || true
  c1=$(ticks "$CORE_PID") p1=$(ticks "$PROJ_PID")
  stop "$PROJ_PID"; PROJ_PID=""
  stop "$CORE_PID"; CORE_PID=""
  python3 "$HERE/load_row.py" "$d.json" "$mode" "$(((c1 - c0) * 1000 / hz))" "$(((p1 - p0) * 1000 / hz))"
  rm -rf "$d" "$d".*
}

echo "proj_wake.sh: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, rate $RATE/s, $SECS s per round"
python3 "$HERE/load_row.py" --header "rill-core CPU ms" "rill-proj CPU ms"
for _ in $(seq "$ROUNDS"); do
  for v in $VARIANTS; do round "$v"; done
done
