#!/usr/bin/env bash
# The whole default deployment under load: `rill up` (rill-core, one
# rill-proj per read model of the default domain, rill-notify, rill-rates)
# on a fresh data directory, then `rill load --rate RATE --after-model
# customers --notified customers` for SECS seconds. Prints the ack, `after`
# and change-note latencies, the CPU time each daemon used during the load
# (from /proc/PID/stat) and the machine's idle time, one row per round.
# `rill down` stops it.
#
# VARIANTS lists what the rounds run, in turn: `default`, or KEY=VALUE for a
# config file {"proj": {KEY: VALUE}} handed to `rill up --config`.
#
#   bench/up_load.sh [BIN_DIR]   (default build/bin; ROUNDS=2 RATE=5000 SECS=6)
#   VARIANTS="wake_coalesce_us=0 default" bench/up_load.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-build/bin}
ROUNDS=${ROUNDS:-2} RATE=${RATE:-5000} SECS=${SECS:-6} VARIANTS=${VARIANTS:-default}
[[ -x $BIN/rill && -x $BIN/rill-core && -x $BIN/rill-proj ]] ||
  { echo "up_load.sh: no rill/rill-core/rill-proj in $BIN" >&2; exit 2; }
BIN=$(cd "$BIN" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rill-upload-XXXXXX")
UP=""
cleanup() {
  [[ -n $UP ]] && "$BIN/rill" down --data "$UP" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
idle() { awk '/^cpu /{print $5}' /proc/stat; }
hz=$(getconf CLK_TCK)

round() {  # default | KEY=VALUE
  local v=$1 d=$WORK/data cfg=()
  if [[ $v != default ]]; then
    printf '{"proj": {"%s": %s}}\n' "${v%%=*}" "${v#*=}" >"$WORK/config.json"
    cfg=(--config "$WORK/config.json")
  fi
  UP=$d
  "$BIN/rill" up --data "$d" --detach "${cfg[@]}" >"$WORK/up.log" 2>&1 ||
    { cat "$WORK/up.log" >&2; exit 1; }
  sleep 0.5
  local -A t0
  local f i0 i1 core=0 projs=0 others=0 n
  for f in "$d"/run/rill-*.pid; do t0[$f]=$(ticks "$(cat "$f")"); done
  i0=$(idle)
  "$BIN/rill" load --data "$d" --rate "$RATE" --window 1000 --mix create:50,update:50 \
    --duration "$SECS" --after-model customers --notified customers --json >"$WORK/load.json" 2>"$WORK/load.err" || true
  i1=$(idle)
  for f in "$d"/run/rill-*.pid; do
    n=$((($(ticks "$(cat "$f")") - ${t0[$f]}) * 1000 / hz))
    case $(basename "$f") in
      rill-core.pid) core=$n ;;
      rill-proj-*) projs=$((projs + n)) ;;
      *) others=$((others + n)) ;;
    esac
  done
  "$BIN/rill" down --data "$d" >/dev/null 2>&1 || true
  UP=""
  python3 "$HERE/load_row.py" "$WORK/load.json" "$v" --notes "$core" "$projs" "$others" \
    "$(((i1 - i0) * 1000 / hz))"
  rm -rf "$d"
}

echo "up_load.sh: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, rate $RATE/s, $SECS s per round"
python3 "$HERE/load_row.py" --header --notes "rill-core CPU ms" "every rill-proj, CPU ms" \
  "notify+rates CPU ms" "idle ms (all CPUs)"
for _ in $(seq "$ROUNDS"); do
  for v in $VARIANTS; do round "$v"; done
done
