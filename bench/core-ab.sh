#!/usr/bin/env bash
# The core tier's cluster tests of two commits, run in turn (A, B, A, B...)
# so that drift in the machine's speed falls on both: per pair the two wall
# times and A/B, then the min, median and max of each. For changes that
# should leave speed alone (a refactor).
#
#   bench/core-ab.sh A B [PAIRS]   default PAIRS=4; A the new commit, B the old
#
# Each commit gets a worktree under AB_DIR (default /var/tmp/lc-core-ab)
# with its release binary and test binary built first (not timed; a worktree
# already there is reused). A run is that commit's test binary with the
# test selection of its own `.ci/test` core tier (one test at a time),
# timed whole from outside. Both run against this machine's engine, tool
# cache and node image: they must take the same node image (the first run
# of either may rebuild it; WARMUP=1, the default, runs each once untimed).
# DROP="node_image::" leaves test selections out (there: the node image
# tests, for commits whose node images differ; `up` of either takes any
# node image of the version). The machine should be otherwise idle. DRY=1
# builds and prints the two commands without running them.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -ge 2 ] || { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
pairs=${3:-4}
ab_dir=${AB_DIR:-/var/tmp/lc-core-ab}
mkdir -p "$ab_dir"

# prepare COMMIT: prints the test binary and the arguments of its core tier.
prepare() {
  local commit tree field arg exe args=()
  commit=$(git -C "$ROOT" rev-parse --verify "$1^{commit}")
  tree=$ab_dir/${commit:0:10}
  [ -d "$tree" ] || git -C "$ROOT" worktree add -f --detach "$tree" "$commit" >/dev/null 2>&1
  (cd "$tree" && cargo build --release >&2)
  exe=$(cd "$tree" && cargo test --release --test it --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
  [ -x "$exe" ] || { echo "no test binary built for $commit" >&2; exit 1; }
  field=$(grep -o '"core|[^"]*"' "$tree/.ci/test" | head -1 | tr -d '"' | cut -d'|' -f3)
  for arg in $field; do
    case "$arg" in
      --skip=*) args+=(--skip "${arg#--skip=}") ;;
      --beside=*) ;; # run with the rest here: one test at a time
      *) [[ " ${DROP:-} " == *" $arg "* ]] || args+=("$arg") ;;
    esac
  done
  echo "$exe --include-ignored --test-threads=1 ${args[*]}"
}

run() { # run LABEL COMMAND...: prints the wall seconds; the output goes to a log
  local label=$1 start end log
  shift
  log=$ab_dir/$label-$(date +%s).log
  start=$(date +%s.%N)
  if ! "$@" >"$log" 2>&1; then echo "$label failed, see $log" >&2; exit 1; fi
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}

stats() { # stats DIGITS: min median max of the numbers on stdin
  sort -n | awk -v d="$1" '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    f = "%." d "f"; printf f " " f " " f, v[1], m, v[NR] }'
}

echo "building (not timed)..."
read -ra cmd_a <<<"$(prepare "$1")"
read -ra cmd_b <<<"$(prepare "$2")"
a=$(git -C "$ROOT" rev-parse --short "$1") b=$(git -C "$ROOT" rev-parse --short "$2")
echo "A $a: ${cmd_a[*]}"
echo "B $b: ${cmd_b[*]}"
[ -z "${DRY:-}" ] || exit 0
if [ "${WARMUP:-1}" = 1 ]; then
  # Assigned first: a failing run inside echo's arguments would not stop
  # the script.
  x=$(run "$a" "${cmd_a[@]}")
  y=$(run "$b" "${cmd_b[@]}")
  echo "warm-up: A $x s, B $y s"
fi
ta=() tb=() ratios=()
for i in $(seq "$pairs"); do
  x=$(run "$a" "${cmd_a[@]}")
  y=$(run "$b" "${cmd_b[@]}")
  r=$(echo "scale=4; $x / $y" | bc)
  ta+=("$x") tb+=("$y") ratios+=("$r")
  printf 'pair %d: A %.1f s, B %.1f s, A/B %.3f\n' "$i" "$x" "$y" "$r"
done
echo "A $a wall s (min median max): $(printf '%s\n' "${ta[@]}" | stats 1)"
echo "B $b wall s (min median max): $(printf '%s\n' "${tb[@]}" | stats 1)"
echo "A/B pair by pair (min median max): $(printf '%s\n' "${ratios[@]}" | stats 3)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo) GiB, load now $(cut -d' ' -f1-3 /proc/loadavg)"
