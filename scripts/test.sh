#!/usr/bin/env bash
# Installs what is missing, builds rill, and runs every test:
#   1. the release build's ctest suite (unit, integration, fault: everything
#      but the labels excluded below);
#   2. the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. a short bounded run of every libFuzzer target (clang).
# Environment:
#   RILL_TEST_SKIP_SANITIZE=1  skip step 2     RILL_TEST_SKIP_FUZZ=1  skip step 3
#   RILL_FUZZ_SECONDS=N        seconds per fuzz target (default 20)
#   RILL_TEST_LONG=1           long fault runs: 100 kill rounds instead of 20
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc)

scripts/setup.sh

echo "== build (RelWithDebInfo) =="
scripts/build.sh build

echo "== tests =="
timeout=600
if [[ "${RILL_TEST_LONG:-0}" == 1 ]]; then
  export RILL_FAULT_ROUNDS="${RILL_FAULT_ROUNDS:-100}"
  timeout=3600
fi
ctest --test-dir build --output-on-failure -j "$jobs" --timeout "$timeout"

if [[ "${RILL_TEST_SKIP_SANITIZE:-0}" != 1 ]]; then
  echo "== unit tests under ASan + UBSan =="
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DRILL_SANITIZE=ON >/dev/null
  units=()
  for t in test_core test_store; do  # the pure libraries: codec, validator, journal
    grep -q "^$t:" <(ninja -C build-asan -t targets all 2>/dev/null | sed 's/: .*/:/') && units+=("$t")
  done
  cmake --build build-asan -j "$jobs" --target "${units[@]}"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  for t in "${units[@]}"; do
    echo "-- $t (sanitized)"
    "build-asan/bin/$t" --gtest_brief=1
  done
fi

if [[ "${RILL_TEST_SKIP_FUZZ:-0}" != 1 ]]; then
  echo "== fuzz smoke runs =="
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DRILL_FUZZ=ON >/dev/null
  cmake --build build-fuzz -j "$jobs"
  secs=${RILL_FUZZ_SECONDS:-20}
  for f in build-fuzz/bin/fuzz_*; do
    name=$(basename "$f"); corpus="tests/fuzz/corpus/${name#fuzz_}"
    work=$(mktemp -d)
    mkdir -p "$root/fuzz-artifacts"
    [[ -d "$corpus" ]] && cp -r "$corpus/." "$work/"
    echo "-- $name for ${secs}s"
    log="$work.log"
    rc=0
    "$f" -max_total_time="$secs" -rss_limit_mb=4096 -print_final_stats=1 \
      -artifact_prefix="$root/fuzz-artifacts/$name-" "$work" >"$log" 2>&1 || rc=$?
    if [[ $rc != 0 ]]; then
      # Show why: the report (check, sanitizer stack, leak) and the input in
      # base64, which the CI log keeps when the artifact file is gone.
      echo "!! $name failed (exit $rc); its log follows"
      grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|INITED|RELOAD)' "$log" | tail -n 120
      echo "!! reproduce: $f fuzz-artifacts/<file> (artifacts in $root/fuzz-artifacts)"
      rm -rf "$work" "$log"
      exit "$rc"
    fi
    tail -n 3 "$log"
    rm -rf "$work" "$log"
  done
fi
echo "all tests passed"
