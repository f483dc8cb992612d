#!/usr/bin/env bash
# RUNS (default 3) cold `up`s of 1 master + 2 workers with the node image
# already built and no snapshot (`clean` before each), and the nodes' total
# memory one minute after each, idle. Prints each run, then the medians.
# kind v0.33 with the same binaries on this kind of machine (2 cores):
# create 37.5 s, idle memory 762 MiB (../shared/ENVIRONMENT.md).
source "$(dirname "$0")/common.sh"
export K8S_DIND_CLUSTER_NAME=bench K8S_DIND_DIND_SUBNET=10.220.0.0/24
runs=${RUNS:-3}
# A node's memory as `docker stats` counts it: its cgroup's usage less the
# inactive page cache (everything in the node: systemd, containerd, the
# kubelet, pods). Read from the cgroup itself where `docker stats` says 0B
# (Docker 20.10 on this machine's cgroup v1 hierarchy).
mem_bytes() {
  local shown id dir
  shown=$(docker stats --no-stream --format '{{.MemUsage}}' "$1" | awk '{print $1}')
  if [ "$shown" != 0B ]; then
    echo "$shown" | sed 's/B$//' | numfmt --from=iec-i
    return
  fi
  id=$(docker inspect -f '{{.Id}}' "$1")
  for dir in /sys/fs/cgroup/memory/docker/$id /sys/fs/cgroup/memory/system.slice/docker-$id.scope; do
    if [ -r "$dir/memory.usage_in_bytes" ]; then
      echo $(( $(cat "$dir/memory.usage_in_bytes") - $(awk '$1 == "total_inactive_file" {print $2}' "$dir/memory.stat") ))
      return
    fi
  done
  dir=/sys/fs/cgroup/system.slice/docker-$id.scope
  echo $(( $(cat "$dir/memory.current") - $(awk '$1 == "inactive_file" {print $2}' "$dir/memory.stat") ))
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
lc build node-image >/dev/null 2>&1
ups=() mems=()
for i in $(seq "$runs"); do
  lc clean >/dev/null 2>&1
  t=$(now); lc up >/dev/null 2>&1; up=$(since "$t")
  sleep 60
  total=0
  for c in bench-kube-master bench-kube-node-1 bench-kube-node-2; do
    total=$((total + $(mem_bytes "$c")))
  done
  mib=$((total / 1048576))
  echo "run $i: up ${up}s, idle memory of the 3 nodes one minute later ${mib} MiB"
  ups+=("$up") mems+=("$mib")
done
echo "cold up, 1 master + 2 workers, node image built, no snapshot: median $(printf '%s\n' "${ups[@]}" | median)s of $runs (kind: 37.5 s)"
echo "idle memory one minute after up: median $(printf '%s\n' "${mems[@]}" | median) MiB of $runs (kind: 762 MiB)"
lc clean >/dev/null 2>&1
