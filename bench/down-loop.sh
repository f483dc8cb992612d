#!/usr/bin/env bash
# ROUNDS (default 20) rounds of `down` then `up` (a restore) on one cluster
# of 1 master + 2 workers, looking for damage after each restore:
#   - a ConfigMap is written just before each `down`: every one written so
#     far must be there after the restore (etcd kept what it acknowledged);
#   - the API server's /readyz (its etcd checks included) must pass;
#   - each node's containerd must list as many images as after the first up;
#   - the restore must restore (no fallback to a new cluster, no failure).
# Prints each round's `down` and `up` seconds and the counts, then the
# medians of both.
source "$(dirname "$0")/common.sh"
export K8S_DIND_CLUSTER_NAME=${K8S_DIND_CLUSTER_NAME:-bench-down}
export K8S_DIND_DIND_SUBNET=${K8S_DIND_DIND_SUBNET:-10.223.0.0/24}
cluster=$K8S_DIND_CLUSTER_NAME
rounds=${ROUNDS:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
nodes=("$cluster-kube-master" "$cluster-kube-node-1" "$cluster-kube-node-2")

kubectl_in_master() { docker exec "${nodes[0]}" kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }
image_counts() {
  for n in "${nodes[@]}"; do
    docker exec "$n" ctr --namespace k8s.io images ls -q | wc -l
  done | paste -sd' '
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }

lc clean >/dev/null 2>&1 || true
t=$(now)
lc up >"$work/first.log" 2>&1 || { cat "$work/first.log"; exit 1; }
echo "first up: $(since "$t")s"
images=$(image_counts)
echo "images in each node's containerd: $images"

restored=0 fell=0 failed=0 lost=0 unready=0 changed=0
: >"$work/down" ; : >"$work/up"
for i in $(seq "$rounds"); do
  kubectl_in_master create configmap "round-$i" --from-literal=round="$i" >/dev/null
  t=$(now)
  lc down >"$work/down.log" 2>&1 || { echo "round $i: down FAILED"; cat "$work/down.log"; exit 1; }
  down=$(since "$t")
  t=$(now)
  if lc up >"$work/up.log" 2>&1; then rc=0; else rc=$?; fi
  up=$(since "$t")
  echo "$down" >>"$work/down"
  problems=()
  if [ $rc -ne 0 ]; then
    failed=$((failed + 1)); problems+=("up failed (rc $rc)")
  elif grep -q 'restored in' "$work/up.log"; then
    restored=$((restored + 1)); echo "$up" >>"$work/up"
  else
    fell=$((fell + 1)); problems+=("did not restore: $(grep -m1 -e 'failed' -e 'created in' "$work/up.log" | cut -c1-160)")
  fi
  if [ $rc -eq 0 ]; then
    have=$(kubectl_in_master get configmaps -o name | grep -c '^configmap/round-' || true)
    if [ "$have" -ne "$i" ]; then lost=$((lost + 1)); problems+=("$have of $i ConfigMaps"); fi
    if ! kubectl_in_master get --raw '/readyz' >/dev/null 2>&1; then
      unready=$((unready + 1)); problems+=("/readyz failed: $(kubectl_in_master get --raw '/readyz?verbose' 2>&1 | grep -v ' ok$' | head -3 | paste -sd' ')")
    fi
    now_images=$(image_counts)
    if [ "$now_images" != "$images" ]; then changed=$((changed + 1)); problems+=("images $now_images, were $images"); fi
  fi
  echo "round $i: down ${down}s, up ${up}s${problems[*]:+; ${problems[*]}}"
  if [ $rc -ne 0 ]; then sed 's/^/    | /' "$work/up.log" | tail -20; fi
done

echo "rounds: $rounds"
echo "restored: $restored"
echo "fell back to a new cluster: $fell"
echo "up failed: $failed"
echo "rounds with ConfigMaps missing: $lost"
echo "rounds with /readyz failing: $unready"
echo "rounds with another image count: $changed"
echo "down: median $(median <"$work/down")s (min $(sort -n "$work/down" | head -1), max $(sort -n "$work/down" | tail -1))"
[ -s "$work/up" ] && echo "restore up: median $(median <"$work/up")s (min $(sort -n "$work/up" | head -1), max $(sort -n "$work/up" | tail -1))"
if [ "${KEEP:-0}" != 1 ]; then lc clean >/dev/null 2>&1; fi
