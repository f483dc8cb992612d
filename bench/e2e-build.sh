#!/usr/bin/env bash
# Cold and warm times to get the conformance test binaries (e2e.test, ginkgo)
# and images ready for a running cluster, measured with `e2e -- --ginkgo.dry-run`
# (everything but running the tests). Cold: an empty tool cache and an empty
# Go build cache (the Go module download cache is kept: downloads are not what
# is measured). Warm: the same again.
# Usage: bench/e2e-build.sh [VERSION]
source "$(dirname "$0")/common.sh"
export K8S_DIND_CLUSTER_NAME=bench-e2e-build K8S_DIND_DIND_SUBNET=10.223.0.0/24 K8S_DIND_NUM_NODES=1
[ -z "${1:-}" ] || export K8S_DIND_KUBERNETES_VERSION=$1
lc clean >/dev/null 2>&1
lc up >/tmp/bench-e2e-build-up.log 2>&1
cold=$(mktemp -d)
prepare() {
  local t
  t=$(now)
  K8S_DIND_CACHE_DIR=$cold/tool GOCACHE=$cold/go lc e2e -- --ginkgo.dry-run >/tmp/bench-e2e-build-$1.log 2>&1 || true
  echo "$1: $(since "$t")s"
  grep -E '✓ (Getting the test binaries|Listing|Installing|Making|Starting|Importing)' /tmp/bench-e2e-build-$1.log | sed 's/^/  /' || true
}
prepare cold
prepare warm
rm -rf "$cold"
lc clean >/dev/null 2>&1
