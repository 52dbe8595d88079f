#!/usr/bin/env bash
# Runs every Google Benchmark binary (build/bin/bench_*: journal, codec and
# validator, queues, projection apply and rebuild, transport, notifier) and
# appends the results to bench/RESULTS.md under a heading with the date, the
# commit and the machine (CPU model, CPUs, load average before and after).
#
#   bench/run_micro.sh [BIN_DIR]           (default build/bin)
#   MIN_TIME=0.2 bench/run_micro.sh        shorter runs (seconds per benchmark)
#   FILTER=journal bench/run_micro.sh      only binaries whose name matches
#   NO_APPEND=1 bench/run_micro.sh         print only, leave RESULTS.md alone
#
# Benchmarks report figures; nothing here passes or fails on time.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/bin}
MIN_TIME=${MIN_TIME:-}
FILTER=${FILTER:-}
out=$(mktemp "${TMPDIR:-/tmp}/rill-micro-XXXXXX")
trap 'rm -f "$out"' EXIT

shopt -s nullglob
bins=("$BIN"/bench_*)
[[ ${#bins[@]} -gt 0 ]] || { echo "run_micro.sh: no bench_* binaries in $BIN (build first: scripts/build.sh)" >&2; exit 2; }

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain --untracked-files=no 2>/dev/null | head -1)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo
  echo "## Micro-benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC') (bench/run_micro.sh)"
  echo
  echo "- Commit: ${commit}${dirty:+ + uncommitted changes}. Machine: ${cpu}, $(nproc) CPUs."
  echo "- Load average before: ${load_before}."
  echo "- Command: \`${MIN_TIME:+MIN_TIME=$MIN_TIME }${FILTER:+FILTER=$FILTER }bench/run_micro.sh $BIN\`"
} >"$out"
for b in "${bins[@]}"; do
  name=$(basename "$b")
  [[ -n $FILTER && $name != *$FILTER* ]] && continue
  echo "== $name" >&2
  args=(--benchmark_format=console --benchmark_color=false)
  [[ -n $MIN_TIME ]] && args+=("--benchmark_min_time=$MIN_TIME")
  {
    echo
    echo "### $name"
    echo
    echo '```'
    "$b" "${args[@]}" 2>/dev/null | grep -v '^\*\*\*' || echo "(exited with $?)"
    echo '```'
  } >>"$out"
done
echo >>"$out"
echo "- Load average after: $(cut -d' ' -f1-3 /proc/loadavg)." >>"$out"
cat "$out"
if [[ -z ${NO_APPEND:-} ]]; then
  cat "$out" >>bench/RESULTS.md
  echo "appended to bench/RESULTS.md" >&2
fi
