#!/usr/bin/env bash
# Seconds for `up` of 1 master + 2 workers with the node image already built
# (no snapshot), and the nodes' total memory one minute later, idle.
source "$(dirname "$0")/common.sh"
export K8S_DIND_CLUSTER_NAME=bench K8S_DIND_DIND_SUBNET=10.220.0.0/24
lc build node-image >/dev/null 2>&1
lc clean >/dev/null 2>&1
t=$(now); lc up >/dev/null 2>&1; up=$(since "$t")
echo "up, 1 master + 2 workers, node image built, no snapshot: ${up}s"
sleep 60
total=0
for c in bench-kube-master bench-kube-node-1 bench-kube-node-2; do
  # The container's cgroup: everything in the node (systemd, containerd, kubelet, pods).
  bytes=$(docker stats --no-stream --format '{{.MemUsage}}' "$c" | awk '{print $1}' | sed 's/B$//' | numfmt --from=iec-i)
  echo "  $c: $(numfmt --to=iec-i --suffix=B "$bytes")"
  total=$((total + bytes))
done
echo "idle memory of the 3 nodes one minute after up: $(numfmt --to=iec-i --suffix=B $total)"
lc clean >/dev/null 2>&1
