#!/usr/bin/env bash
# The Go compiler's own costs on the Kubernetes build, A against B in turn
# (farm-bench pairs): wall, CPU seconds and the largest process's peak
# memory of builds from an EMPTY Go build cache (as a first build is).
#   A: the variant, GOGC=$A_GOGC and/or -gcflags=all=$A_GCFLAGS
#   B: Go's defaults (no GOGC, no extra compiler flags)
# The compiler is a Go program: with GOGC above its default it collects less
# often, at the cost of a larger heap. -dwarf=false skips the debugging
# information that the link's -s -w throws away anyway.
#
#   bench/go-gc.sh [RUNS]                  A_GOGC=400, 2 pairs, kube-scheduler
#   A_GOGC= A_GCFLAGS=-dwarf=false bench/go-gc.sh 3
#   TREE=dir PACKAGE=./cmd/kube-proxy bench/go-gc.sh
#   ONE=k8s.io/kubernetes/pkg/generated/openapi bench/go-gc.sh 3
#                     compile only that package each run, with the user's
#                     (warm) build cache for the rest: quick, and its peak
#                     memory is that of the build's largest package
#
# TREE defaults to the tree the tool put together for v1.37.2 (a node image
# build with source go-module leaves it in the tool cache). The module cache
# is the user's own and should be warm: this measures compiling, not
# downloading. The machine should be otherwise idle. Appends the figures to
# bench/results/go-gc-DATE.md.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${1:-2}
a_gogc=${A_GOGC-400}
a_gcflags=${A_GCFLAGS:-}
tree=${TREE:-$HOME/.cache/kubeadm-local-cluster/trees/kubernetes-v1.37.2}
package=${PACKAGE:-./cmd/kube-scheduler}
[ -f "$tree/go.mod" ] || { echo "no Kubernetes tree at $tree (TREE=dir)" >&2; exit 1; }

# The flags the tool's make of the tree uses (static, Kubernetes' tags,
# stripped), plus $GCFLAGS (the variant's, empty for B).
if [ -z "${ONE:-}" ]; then
  # One build from an empty cache, removed afterwards.
  script='set -e; c=$(mktemp -d /var/tmp/go-gc-cache-XXXXXX); trap "rm -rf $c" EXIT
    cd "$TREE"; GOCACHE=$c GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS= \
    go build -trimpath -tags=selinux,notest,grpcnotrace -ldflags="-s -w" \
      ${GCFLAGS:+-gcflags="all=$GCFLAGS"} -o /dev/null "$PACKAGE"'
else
  # A -D (relative path of local imports: none in a module) unique to each
  # run changes the package's cache key and nothing of its work.
  script='set -e; cd "$TREE"; GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS= \
    go build -trimpath -tags=selinux,notest,grpcnotrace \
      -gcflags="$ONE=-D=/gogc-run-$$-$(date +%s%N) $GCFLAGS" -o /dev/null "$ONE"'
  package=$ONE
fi
export TREE=$tree PACKAGE=$package ONE=${ONE:-}
variant=()
[ -z "$a_gogc" ] || variant+=("GOGC=$a_gogc")
[ -z "$a_gcflags" ] || variant+=("GCFLAGS=$a_gcflags")
[ ${#variant[@]} -gt 0 ] || { echo "A is the same as B: set A_GOGC or A_GCFLAGS" >&2; exit 2; }

# With ONE, a first run not counted puts the rest of the build in the cache.
warmup=0
[ -z "${ONE:-}" ] || warmup=1
out=$(mktemp)
farm-bench -n "$runs" --warmup "$warmup" --timeout 3600 \
  --vs "env -u GOGC GCFLAGS= sh -c '$script'" -- env -u GOGC "${variant[@]}" sh -c "$script" | tee "$out"

results=$ROOT/bench/results/go-gc-$(date -u +%F).md
{
  [ -f "$results" ] || printf '# The Go compiler'"'"'s own costs on the Kubernetes build\n\nbench/go-gc.sh: A = the variant, B = Go'"'"'s defaults; farm-bench pairs.\n'
  printf '\n## %s: A = %s; %s of %s (commit %s, %s, %s cores, %s GiB)\n\n```\n' \
    "$(date -u +%FT%TZ)" "${variant[*]}" "$package" "$tree" \
    "$(git -C "$ROOT" rev-parse --short HEAD)" "$(go version | cut -d' ' -f3)" "$(nproc)" \
    "$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)"
  [ -n "${ONE:-}" ] && echo "(only this package compiled each run; the rest from the warm cache)"
  cat "$out"
  printf '```\n'
} >>"$results"
rm -f "$out"
echo "appended to $results"
