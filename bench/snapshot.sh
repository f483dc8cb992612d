#!/usr/bin/env bash
# Cold `up` (no snapshot) against restore `up` (from the snapshot) for
# 1 master + 2 workers, and when the nodes report Ready during the restore.
source "$(dirname "$0")/common.sh"
export K8S_DIND_CLUSTER_NAME=bench K8S_DIND_DIND_SUBNET=10.220.0.0/24
runs=${RUNS:-3}
lc build node-image >/dev/null 2>&1
lc clean >/dev/null 2>&1
t=$(now); lc up >/dev/null 2>&1; cold=$(since "$t")
kubectl_in_master() { docker exec bench-kube-master kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }
restores=()
for i in $(seq "$runs"); do
  lc down >/dev/null 2>&1
  start=$(now)
  lc up >/dev/null 2>&1 &
  pid=$!
  ready=""
  while kill -0 $pid 2>/dev/null; do
    # Ready with a heartbeat after the restore began (the API keeps the old status).
    if [ -z "$ready" ] && out=$(kubectl_in_master get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}{"\n"}{end}' 2>/dev/null); then
      fresh=$(echo "$out" | awk -v t="$(date -u -d "@${start%.*}" +%Y-%m-%dT%H:%M:%SZ)" '$1 == "True" && $2 >= t' | wc -l)
      [ "$fresh" -eq 3 ] && ready=$(since "$start")
    fi
    sleep 0.5
  done
  wait $pid
  total=$(since "$start")
  restores+=("$total")
  echo "restore $i: up returned after ${total}s; all nodes Ready after ${ready:-?}s"
done
best=$(printf '%s\n' "${restores[@]}" | sort -n | head -1)
echo "cold up: ${cold}s"
echo "restore up (best of $runs): ${best}s"
echo "ratio cold/restore: $(echo "scale=1; $cold / $best" | bc)x"
lc clean >/dev/null 2>&1
