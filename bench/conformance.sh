#!/usr/bin/env bash
# The complete conformance suite on a fresh 1 master + 2 workers cluster:
# the parallel part (`e2e`), then the serial part (`e2e-serial`); for each,
# passed / failed / skipped and the wall time, and where the results are.
# Usage: bench/conformance.sh [VERSION] [parallel|serial|both]   (default: the
# default version, both). Takes hours: the serial part alone is 1-2 h here.
# Extra arguments for the tests can be given in E2E_ARGS (after `--`).
source "$(dirname "$0")/common.sh"
version=${1:-}
parts=${2:-both}
export K8S_DIND_CLUSTER_NAME=bench-conformance K8S_DIND_DIND_SUBNET=10.222.0.0/24
[ -z "$version" ] || export K8S_DIND_KUBERNETES_VERSION=$version
log=/tmp/bench-conformance${version:+-$version}
lc clean >/dev/null 2>&1
t=$(now); lc up >"$log-up.log" 2>&1; echo "up: $(since "$t")s"
# Test binaries and images, without running a test.
t=$(now)
lc e2e -- --ginkgo.dry-run >"$log-prepare.log" 2>&1 || true
echo "test binaries and images ready (dry run): $(since "$t")s"
run() {
  # shellcheck disable=SC2086
  e2e_run "$1" "$log-$1.out" "$log-$1.log" -- ${E2E_ARGS:-}
}
case $parts in
  parallel) run e2e ;;
  serial) run e2e-serial ;;
  both) run e2e; run e2e-serial ;;
  *) echo "unknown part $parts (parallel, serial or both)" >&2; exit 2 ;;
esac
lc clean >/dev/null 2>&1
