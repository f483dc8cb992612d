#!/usr/bin/env bash
# What the core tier's Rust work costs from nothing, in CPU seconds (user +
# system, which other load on the machine barely changes) and wall seconds:
# the binary, clippy over every target, and the unit and CLI test binaries,
# each as .ci/test runs them, in a new target directory.
#
#   bench/rust-compile.sh [PROFILE]   default: release (what .ci/test uses)
#
# Compare profiles by their CPU seconds: a profile that costs less CPU
# leaves more of the two cores to the node image's Go build beside it.
# Prints one line per step and a total; appends them to
# bench/results/rust-compile-DATE.md.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
profile=${1:-release}
target=$(mktemp -d /var/tmp/lc-rust-compile-XXXXXX)
trap 'rm -rf "$target"' EXIT
out="$ROOT/bench/results/rust-compile-$(date -u +%F).md"
commit=$(git -C "$ROOT" rev-parse --short HEAD)
cd "$ROOT"
total_cpu=0 total_wall=0
step() { # step NAME CARGO-ARGS...
  local name=$1
  shift
  if ! /usr/bin/time -o "$target/time" -f '%U %S %e' env CARGO_TARGET_DIR="$target" \
    cargo "$@" >/dev/null 2>"$target/err"; then
    cat "$target/err" >&2
    exit 1
  fi
  read -r user sys wall <"$target/time"
  cpu=$(echo "$user + $sys" | bc)
  total_cpu=$(echo "$total_cpu + $cpu" | bc)
  total_wall=$(echo "$total_wall + $wall" | bc)
  printf '| %s | %s | %s | %s | %.0f | %.0f |\n' "$(date -u +%FT%TZ)" "$commit" "$profile" \
    "$name" "$cpu" "$wall" | tee -a "$out"
}
step build build --profile "$profile"
step clippy clippy --all-targets --profile "$profile" -- -D warnings
step tests test --profile "$profile" --no-run
printf '| %s | %s | %s | total | %.0f | %.0f |\n' "$(date -u +%FT%TZ)" "$commit" "$profile" \
  "$total_cpu" "$total_wall" | tee -a "$out"
