# Shared by the bench scripts: the binary, local sources, timing helpers.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${LOCAL_CLUSTER_BIN:-$ROOT/target/release/local-cluster}
if [ ! -x "$BIN" ]; then
  (cd "$ROOT" && cargo build --release -q)
fi
# Build everything locally unless the caller says otherwise.
export K8S_DIND_KUBERNETES_SOURCE=${K8S_DIND_KUBERNETES_SOURCE:-go-module}
export K8S_DIND_IMAGE_SOURCE=${K8S_DIND_IMAGE_SOURCE:-build}
export K8S_DIND_ADDONS=${K8S_DIND_ADDONS-}

now() { date +%s.%N; }
since() { printf '%.1f' "$(echo "$(now) - $1" | bc)"; }
lc() { "$BIN" "$@"; }

# `local-cluster e2e` / `e2e-serial` output (its stdout, in FILE): the
# summary line ("Ran N of M selected tests in T: P passed, F failed, S
# skipped."), or where to look when there is none (ERRLOG: its stderr).
e2e_summary() { grep '^Ran ' "$1" || echo "no summary, see ${2:-$1}"; }
# "P passed, F failed, S skipped" of the summary, empty without one.
e2e_counts() { sed -n 's/^Ran .*: \([0-9]* passed, [0-9]* failed, [0-9]* skipped\).*/\1/p' "$1"; }
# The failed tests, one "[FAILED] full name" (or [PANICKED], [TIMEDOUT]...) a line.
e2e_failures() { grep '^  \[' "$1" | sed 's/^  //' || true; }
# Run `local-cluster CMD ARGS...` (e2e or e2e-serial), stdout into OUT and
# stderr into ERRLOG; print "CMD: Ns wall; <summary>", each failed test
# indented below it, and the results folder.
e2e_run() {
  local cmd=$1 out=$2 errlog=$3 t
  shift 3
  t=$(now)
  lc "$cmd" "$@" >"$out" 2>"$errlog" || true
  echo "$cmd: $(since "$t")s wall; $(e2e_summary "$out" "$errlog")"
  e2e_failures "$out" | sed 's/^/  /'
  grep '^Results' "$out" || true
}
