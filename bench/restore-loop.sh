#!/usr/bin/env bash
# RUNS (default 50) `down` + `up` restores of one 3-node cluster: per run the
# seconds `up` took, whether it restored or fell back to a new cluster, and
# the entrypoint's messages from each node; then the totals.
#
#   LOAD=1            two busy-loop CPU hogs run for the whole loop
#   ENTRYPOINT=path   runs this entrypoint instead of the one in the snapshot
#                     images (re-applied whenever a fallback made new ones),
#                     so an entrypoint change is measured without building
#                     a node image
#   KEEP=1            leave the cluster (and its snapshot) in place at the end
source "$(dirname "$0")/common.sh"
export K8S_DIND_CLUSTER_NAME=${K8S_DIND_CLUSTER_NAME:-bench-cg}
export K8S_DIND_DIND_SUBNET=${K8S_DIND_DIND_SUBNET:-10.242.0.0/24}
export K8S_DIND_NUM_NODES=${K8S_DIND_NUM_NODES:-2}
cluster=$K8S_DIND_CLUSTER_NAME
runs=${RUNS:-50}
work=$(mktemp -d)
hogs=()
cleanup() {
  for h in "${hogs[@]}"; do kill "$h" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

nodes() {
  docker ps -a --filter "label=io.kubeadm-local-cluster.cluster=$cluster" \
    --filter "label=io.kubeadm-local-cluster.role=node" --format '{{.Names}}' | sort
}
snapshots() {
  docker images --format '{{.Repository}}:{{.Tag}}' "kubeadm-local-cluster/snapshot-$cluster" | sort
}

# Puts $ENTRYPOINT into every snapshot image: a container made from the
# image gets the file, and its commit replaces the tag. The labels (they hold
# the snapshot's fingerprint) and the start configuration must survive.
patch_snapshots() {
  local img path before after tmp
  for img in $(snapshots); do
    path=$(docker inspect -f '{{index .Config.Entrypoint 0}}' "$img")
    before=$(docker inspect -f '{{json .Config.Labels}} {{json .Config.Entrypoint}} {{json .Config.Cmd}} {{.Config.StopSignal}}' "$img")
    tmp=$(docker create "$img")
    # docker cp keeps the source's mode: the copy must be executable.
    install -m 755 "$ENTRYPOINT" "$work/entrypoint"
    docker cp "$work/entrypoint" "$tmp:$path"
    docker commit "$tmp" "$img" >/dev/null
    docker rm "$tmp" >/dev/null
    after=$(docker inspect -f '{{json .Config.Labels}} {{json .Config.Entrypoint}} {{json .Config.Cmd}} {{.Config.StopSignal}}' "$img")
    if [ "$before" != "$after" ]; then
      echo "patching $img changed its configuration:" >&2
      echo "  before: $before" >&2
      echo "  after:  $after" >&2
      exit 1
    fi
  done
  echo "snapshot images now run $ENTRYPOINT ($(sha256sum <"$ENTRYPOINT" | cut -c1-12))"
}

# No `build node-image` first: that rebuilds when this checkout's node files
# (the entrypoint) differ from the image's, while `up` takes any node image
# of the version.
if [ -z "$(snapshots)" ] || [ -z "$(nodes)" ]; then
  t=$(now)
  lc up >"$work/first.log" 2>&1 || { cat "$work/first.log"; exit 1; }
  echo "first up: $(since "$t")s"
fi
[ -n "${ENTRYPOINT:-}" ] && patch_snapshots

if [ "${LOAD:-0}" = 1 ]; then
  for _ in 1 2; do
    sh -c 'while :; do :; done' &
    hogs+=($!)
  done
  echo "load: two busy loops (pids ${hogs[*]})"
fi
echo "nodes: $(nodes | wc -l), cpus: $(nproc), runs: $runs"

restored=0 fell=0 busy=0 failed=0 total=0
for i in $(seq "$runs"); do
  lc down >/dev/null 2>&1
  start=$(now)
  if lc up >"$work/up.log" 2>&1; then rc=0; else rc=$?; fi
  secs=$(since "$start")
  # Entrypoint lines of this boot: from the nodes running now and, when the
  # restore fell back, from the failure the tool printed (the failed
  # containers are gone by then).
  msgs=$( { for n in $(nodes); do docker logs "$n" 2>&1 | sed "s/^/$n: /"; done
    cat "$work/up.log"; } | grep -e 'local-cluster-entrypoint:' -e 'umount:' | sort -u || true)
  if [ $rc -ne 0 ]; then
    outcome="up FAILED (rc $rc)"
    failed=$((failed + 1))
  elif grep -q 'restoring cluster .* failed' "$work/up.log"; then
    outcome="fell back: $(grep -o 'restoring cluster .* failed ([^;]*' "$work/up.log" | head -1 | cut -c1-200)"
    fell=$((fell + 1))
  elif grep -q 'Restoring cluster' "$work/up.log"; then
    outcome=restored
    restored=$((restored + 1))
    total=$(echo "$total + $secs" | bc)
  else
    outcome="no restore (snapshot not used)"
    failed=$((failed + 1))
  fi
  if echo "$msgs" | grep -q busy; then busy=$((busy + 1)); fi
  echo "run $i: ${secs}s $outcome"
  [ -n "$msgs" ] && echo "$msgs" | sed 's/^/    /'
  if [ $rc -ne 0 ]; then sed 's/^/    | /' "$work/up.log" | tail -20; fi
  # A fallback made new snapshot images from the node image: patch them too.
  if [ -n "${ENTRYPOINT:-}" ] && [ "$outcome" != restored ]; then patch_snapshots; fi
done

echo "runs: $runs"
echo "restored: $restored"
echo "fell back: $fell"
echo "up failed or did not restore: $failed"
echo "runs with an entrypoint 'busy' message: $busy"
[ $restored -gt 0 ] && echo "mean restore time: $(echo "scale=1; $total / $restored" | bc)s"
if [ "${KEEP:-0}" != 1 ]; then lc clean >/dev/null 2>&1; fi
