#!/usr/bin/env bash
# For 1 master + 2 workers: one cold `up` (no snapshot), then RUNS (default
# 5) rounds of `down` and a restore `up`. Prints each round's `down`, the
# restore's wall time and when all nodes reported Ready with a heartbeat
# after the restore began, then the medians. `--v 2` timelines of each
# restore are kept in $TIMELINES (a folder) when it is set.
source "$(dirname "$0")/common.sh"
export K8S_DIND_CLUSTER_NAME=bench K8S_DIND_DIND_SUBNET=10.220.0.0/24
runs=${RUNS:-5}
median() { sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
lc build node-image >/dev/null 2>&1
lc clean >/dev/null 2>&1
t=$(now); lc up >/dev/null 2>&1; cold=$(since "$t")
kubectl_in_master() { docker exec bench-kube-master kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }
downs=() restores=() readies=()
for i in $(seq "$runs"); do
  sleep 10
  t=$(now); lc down >/dev/null 2>&1; down=$(since "$t")
  start=$(now)
  log=/dev/null
  [ -n "${TIMELINES:-}" ] && mkdir -p "$TIMELINES" && log=$TIMELINES/restore-$i.log
  lc up --v 2 >"$log" 2>&1 &
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
  echo "round $i: down ${down}s; restore up returned after ${total}s; all nodes Ready after ${ready:-?}s"
  downs+=("$down") restores+=("$total")
  [ -n "$ready" ] && readies+=("$ready")
done
echo "cold up: ${cold}s"
echo "down: median $(printf '%s\n' "${downs[@]}" | median)s of $runs"
echo "restore up: median $(printf '%s\n' "${restores[@]}" | median)s of $runs"
[ ${#readies[@]} -gt 0 ] && echo "all nodes Ready during the restore: median $(printf '%s\n' "${readies[@]}" | median)s"
lc clean >/dev/null 2>&1
