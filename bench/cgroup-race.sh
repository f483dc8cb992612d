#!/usr/bin/env bash
# The entrypoint's cgroup remount against a Go program exec'd into the
# booting node (as `up` runs kubectl in the master while a restore boots),
# without Kubernetes: RUNS (default 50) rounds of starting 3 node
# containers of IMAGE at once, each probed from its start by a Go program
# (built here with the local Go, >= 1.25) every 250 ms, and in how many
# rounds an entrypoint failed or logged a busy mount.
#
#   IMAGE=ref         node image (default: the newest kubeadm-local-cluster/node
#                     image, else the bare one); only read, never retagged
#   ENTRYPOINT=path   runs this entrypoint instead of the image's (in a local
#                     image local-cluster-bench/cgroup-race, removed at the end)
#   LOAD=1            two busy-loop CPU hogs for the duration
set -euo pipefail
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
  echo "this host has cgroup v2 (one unified hierarchy, the container's own):"
  echo "the race is with cgroup v1's per-controller hierarchies; nothing to measure here"
  exit 0
fi
runs=${RUNS:-50}
work=$(mktemp -d)
hogs=()
derived=local-cluster-bench/cgroup-race:entrypoint
cleanup() {
  for h in "${hogs[@]}"; do kill "$h" 2>/dev/null || true; done
  docker ps -aq --filter label=local-cluster-bench=cgroup-race | xargs -r docker rm -f -v >/dev/null
  docker rmi "$derived" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

image=${IMAGE:-$(docker images --format '{{.Repository}}:{{.Tag}}' kubeadm-local-cluster/node | head -1)}
image=${image:-$(docker images --format '{{.Repository}}:{{.Tag}}' kubeadm-local-cluster/node-bare | head -1)}
[ -n "$image" ] || { echo "no node image: run local-cluster build node-image" >&2; exit 1; }

# A Go program that lives as long as kubectl failing to reach a booting API.
mkdir -p "$work/probe"
cat >"$work/probe/main.go" <<'EOF'
package main

import "time"

func main() { time.Sleep(200 * time.Millisecond) }
EOF
printf 'module probe\ngo 1.25\n' >"$work/probe/go.mod"
(cd "$work/probe" && GOTOOLCHAIN=local CGO_ENABLED=0 go build -o probe .)

if [ -n "${ENTRYPOINT:-}" ]; then
  path=$(docker inspect -f '{{index .Config.Entrypoint 0}}' "$image")
  install -m 755 "$ENTRYPOINT" "$work/entrypoint"
  tmp=$(docker create "$image")
  docker cp "$work/entrypoint" "$tmp:$path"
  docker commit "$tmp" "$derived" >/dev/null
  docker rm "$tmp" >/dev/null
  image=$derived
fi

if [ "${LOAD:-0}" = 1 ]; then
  for _ in 1 2; do
    sh -c 'while :; do :; done' &
    hogs+=($!)
  done
fi
echo "image: $image${ENTRYPOINT:+ with $ENTRYPOINT}, load: ${LOAD:-0}, runs: $runs, cpus: $(nproc)"

failed_rounds=0 busy_rounds=0 dead=0
for i in $(seq "$runs"); do
  names=()
  for j in 1 2 3; do
    n=cgroup-race-$j
    # The node containers' settings in capability mode (src/cluster/steps/node.rs).
    docker create -t --name "$n" --hostname "$n" --label local-cluster-bench=cgroup-race \
      --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined \
      --security-opt apparmor=unconfined --security-opt systempaths=unconfined \
      --device-cgroup-rule 'a *:* rwm' --device /dev/kmsg --cgroupns private \
      --tmpfs /tmp --tmpfs /run --tmpfs /run/lock -v /var --stop-signal SIGRTMIN+3 \
      "$image" >/dev/null
    docker cp "$work/probe/probe" "$n:/usr/local/bin/cgroup-race-probe"
    names+=("$n")
  done
  for n in "${names[@]}"; do docker start "$n" >/dev/null & done
  for n in "${names[@]}"; do
    (end=$((SECONDS + 3)); while [ $SECONDS -lt $end ]; do
      docker exec "$n" /usr/local/bin/cgroup-race-probe >/dev/null 2>&1 || true
      sleep 0.25
    done) &
  done
  wait
  round_failed=0 round_busy=0 msgs=""
  for n in "${names[@]}"; do
    log=$(docker logs "$n" 2>&1 | grep -e 'local-cluster-entrypoint:' -e 'umount:' || true)
    running=$(docker inspect -f '{{.State.Running}}' "$n")
    if [ "$running" != true ]; then round_failed=1; dead=$((dead + 1)); fi
    if echo "$log" | grep -q busy; then round_busy=1; fi
    [ -n "$log" ] && msgs+=$(echo "$log" | grep -v 'DEBUG mountinfo' | sed "s/^/    $n: /")$'\n'
  done
  failed_rounds=$((failed_rounds + round_failed))
  busy_rounds=$((busy_rounds + round_busy))
  echo "round $i: $([ $round_failed = 1 ] && echo "a node died" || echo ok)"
  [ -n "$msgs" ] && printf '%s' "$msgs"
  docker rm -f -v "${names[@]}" >/dev/null
done
echo "rounds: $runs"
echo "rounds where a node died: $failed_rounds (nodes: $dead of $((3 * runs)))"
echo "rounds with a busy cgroup mount: $busy_rounds"
