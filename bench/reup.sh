#!/usr/bin/env bash
# reup after a one-line change in a kubelet package, on a running 1 master +
# 2 workers cluster: the whole reup, and its build (incremental: the tree's
# make with the shared Go build cache) and swap (the kubelet replaced and
# restarted on every node; nothing else changed). Before those runs, one
# reup swaps everything in once (the tree's version differs from the
# release's), which is timed too. The first change turns a clean tree
# dirty, which changes every binary's version stamp: only the code decides
# what is built and swapped ("kept" lists what the cluster runs already).
# Usage: bench/reup.sh [TREE]   (default: a tree made with `local-cluster source`)
# RUNS=n one-line changes (default 3).
source "$(dirname "$0")/common.sh"
export K8S_DIND_CLUSTER_NAME=bench-reup K8S_DIND_DIND_SUBNET=10.224.0.0/24
runs=${RUNS:-3}
tree=${1:-}
if [ -z "$tree" ]; then
  tmp=$(mktemp -d /var/tmp/lc-bench-tree.XXXX)
  trap 'rm -rf "$tmp"' EXIT
  tree=$tmp/kubernetes
  t=$(now); lc source "$tree" >/tmp/bench-reup-source.log 2>&1; echo "source tree: $(since "$t")s"
fi
rm -f "$edit"
lc clean >/dev/null 2>&1
t=$(now); lc up >/tmp/bench-reup-up.log 2>&1; echo "up: $(since "$t")s"
reup() {
  local t log=/tmp/bench-reup-$1.log
  t=$(now)
  lc reup --build-hyperkube --k8s-dir "$tree" >"$log" 2>&1 || { echo "$1: reup FAILED, see $log"; return 1; }
  local total; total=$(since "$t")
  # The tool's last line says: (build Xs, swap Ys).
  local split; split=$(grep -o '(build [0-9.]*s, swap [0-9.]*s)' "$log" | tail -1 || true)
  local changed; changed=$( (grep -E '^  [a-z-]+: changed' "$log" || true) | awk -F: '{print $1}' | xargs | tr ' ' ,)
  local kept; kept=$( (grep -E '^  [a-z-]+: the cluster runs this code already' "$log" || true) | awk -F: '{print $1}' | xargs | tr ' ' ,)
  echo "$1: reup ${total}s $split; swapped: ${changed:-nothing}; kept: ${kept:-nothing}"
}
# The edit of an earlier run that stopped would make the tree dirty.
edit=$tree/pkg/kubelet/zz_bench_edit.go
rm -f "$edit"
reup first-swap
for i in $(seq "$runs"); do
  # One line that changes what the kubelet runs at start.
  printf 'package kubelet\n\nimport "k8s.io/klog/v2"\n\nfunc init() { klog.V(9).InfoS("bench edit", "run", "%s") }\n' "$(date +%s.%N)" >"$edit"
  reup "one-line-change-$i"
done
rm -f "$edit"
lc clean >/dev/null 2>&1
