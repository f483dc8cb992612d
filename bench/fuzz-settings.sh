#!/usr/bin/env bash
# The settings property tests (src/settings/tests/fuzz.rs) with many cases,
# over and over with fresh random seeds, for DURATION seconds (default 600).
# Prints runs, cases, failures and time; a failing run's output is kept.
#   DURATION=600 PROPTEST_CASES=2000 bench/fuzz-settings.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
duration=${DURATION:-600}
cases=${PROPTEST_CASES:-2000}
filter=settings::tests::fuzz::
# The test binary, built once and copied so that a rebuild meanwhile
# does not change what runs.
bin=$(cd "$ROOT" && cargo test --release --lib --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
[ -x "$bin" ] || { echo "cannot build the library's test binary" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$bin" "$work/tests"
properties=$("$work/tests" --list "$filter" 2>/dev/null | grep -c ': test$' || true)
# Each property runs PROPTEST_CASES cases; the harness self-check runs none.
props_with_cases=$((properties - 1))
start=$(date +%s)
runs=0 failed=0
while [ $(( $(date +%s) - start )) -lt "$duration" ]; do
  runs=$((runs + 1))
  if ! PROPTEST_CASES=$cases "$work/tests" --test-threads=1 "$filter" >"$work/run.log" 2>&1; then
    failed=$((failed + 1))
    keep=${TMPDIR:-/tmp}/fuzz-settings-failure-$runs.log
    cp "$work/run.log" "$keep"
    echo "run $runs failed; output in $keep" >&2
  fi
done
elapsed=$(( $(date +%s) - start ))
echo "properties: $props_with_cases (cases each per run: $cases)"
echo "runs: $runs, failed runs: $failed"
echo "cases: $((runs * cases * props_with_cases))"
printf 'time: %d s (%.1f min)\n' "$elapsed" "$(echo "$elapsed / 60" | bc -l)"
[ "$failed" -eq 0 ]
