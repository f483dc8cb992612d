#!/usr/bin/env bash
# Does one Go build cache serve every Kubernetes build? In a throwaway
# GOCACHE: build the seven commands as the node image does (one `go build`,
# Kubernetes' release flags), then ask `go list` which packages e2e.test and
# a source tree's build would still compile (.Stale), with the flags the tool
# uses now and with the tags it used before; then build e2e.test as the tool
# does and time its steps. Needs the wrapper module the tool generated
# (~/.cache/kubeadm-local-cluster/go-wrappers/k8s.io_kubernetes@VERSION) and
# optionally a tree made by `local-cluster source DIR`.
# Usage: bench/go-cache-sharing.sh [VERSION] [TREE]
set -euo pipefail
version=${1:-v1.37.2}
tree=${2:-}
wrapper=${XDG_CACHE_HOME:-$HOME/.cache}/kubeadm-local-cluster/go-wrappers/k8s.io_kubernetes@$version
tags=selinux,notest,grpcnotrace
work=$(mktemp -d /var/tmp/go-cache-sharing.XXXX)
trap 'rm -rf "$work"' EXIT
cp "$wrapper"/go.mod "$wrapper"/go.sum "$work"/
export GOCACHE=$work/gocache GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0 GOOS=linux GOARCH=amd64
load() { uptime | sed 's/.*average: /load /'; }
# timed LOG WHAT COMMAND...: the command's output to LOG, its times here.
timed() {
  local log=$1 what=$2; shift 2
  /usr/bin/time -o time.txt -f "$what: %e s wall, %U s user, %S s sys" nice -n 19 "$@" >"$log" 2>&1 || true
  echo "$(cat time.txt) ($(load))"
}
compiled() { grep -v ' ' "$1" | grep -vc '^#' || true; }
cmds=()
for b in kubeadm kubectl kubelet kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do
  cmds+=("k8s.io/kubernetes/cmd/$b")
done
cd "$work"
timed cmds.log "node image commands, one go build, cold cache" go build -v -trimpath -tags=$tags -ldflags='-s -w' -o bin/ "${cmds[@]}"
echo "  packages compiled: $(compiled cmds.log)"
stale() { # DIR TAGS ARGS...
  local dir=$1 t=$2; shift 2
  # A tree is a workspace (go.work), where -mod=mod is refused.
  local flags=$GOFLAGS
  [ -e "$dir/go.work" ] && flags=
  (cd "$dir" && GOFLAGS=$flags nice -n 19 go list -deps -trimpath -tags="$t" \
    -f '{{if not .Standard}}{{if .Stale}}S{{else}}F{{end}} {{.ImportPath}}{{end}}' "$@") | grep -v '^$' >stale.txt
  echo "  tags '$t': $(grep -c '^S' stale.txt) of $(wc -l <stale.txt) packages to compile, $(grep '^S' stale.txt | grep -vc ' k8s.io/' || true) of them outside k8s.io/"
}
echo "e2e.test (k8s.io/kubernetes/test/e2e with its tests) after the node image build:"
stale "$work" "$tags" -test k8s.io/kubernetes/test/e2e
stale "$work" "" -test k8s.io/kubernetes/test/e2e
if [ -n "$tree" ]; then
  echo "a source tree's build of the same commands (go.work: k8s.io/ packages are the tree's own):"
  stale "$tree" "$tags" ./cmd/kubeadm ./cmd/kubectl ./cmd/kubelet ./cmd/kube-apiserver ./cmd/kube-controller-manager ./cmd/kube-scheduler ./cmd/kube-proxy
  stale "$tree" "selinux,notest" ./cmd/kubeadm ./cmd/kubectl ./cmd/kubelet ./cmd/kube-apiserver ./cmd/kube-controller-manager ./cmd/kube-scheduler ./cmd/kube-proxy
fi
echo "e2e.test built as the tool does, on this cache:"
deps=$(go list -deps -test -trimpath -tags=$tags -f '{{if not .Standard}}{{.ImportPath}}{{end}}' k8s.io/kubernetes/test/e2e |
  grep -v -e ' ' -e '\.test$' -e '^k8s.io/kubernetes/test/e2e$')
timed deps.log "  go build of its dependencies" go build -v -trimpath -tags=$tags $deps
echo "    packages compiled: $(compiled deps.log)"
timed test.log "  go test -c -vet=off" go test -c -vet=off -trimpath -tags=$tags -ldflags='-s -w' -o e2e.test k8s.io/kubernetes/test/e2e
timed test.log "  go test -c (vet on, as before; the compile is cached now, so this is vet and link)" go test -c -trimpath -tags=$tags -ldflags='-s -w' -o e2e-vet.test k8s.io/kubernetes/test/e2e
timed test.log "  go test -c -vet=off again (link only, or nothing if cached)" go test -c -vet=off -trimpath -tags=$tags -ldflags='-s -w' -o e2e-again.test k8s.io/kubernetes/test/e2e
