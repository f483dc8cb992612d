#!/usr/bin/env bash
# Every supported Kubernetes minor × every pod network that runs here: node
# image build time per version, then per pair the `up` time of 1 master +
# 1 worker (no snapshot), whether the nodes are Ready and DNS answers.
# Usage: bench/versions.sh [VERSION...]   (default: the supported releases)
#        CNIS="bridge flannel" bench/versions.sh v1.37.2
source "$(dirname "$0")/common.sh"
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(v1.37.2 v1.36.3 v1.35.4)
read -r -a cnis <<<"${CNIS:-bridge flannel kube-router}"
export K8S_DIND_CLUSTER_NAME=bench-versions K8S_DIND_DIND_SUBNET=10.221.0.0/24 K8S_DIND_NUM_NODES=1
home=$HOME/.kubeadm-local-cluster/clusters/bench-versions
k() { KUBECONFIG=$home/admin.conf "$home/kubectl" "$@"; }
for v in "${versions[@]}"; do
  export K8S_DIND_KUBERNETES_VERSION=$v
  lc clean >/dev/null 2>&1
  t=$(now); lc build node-image >/dev/null 2>&1; build=$(since "$t")
  echo "$v: node image ${build}s"
  for cni in "${cnis[@]}"; do
    export K8S_DIND_CNI_PLUGIN=$cni
    lc clean >/dev/null 2>&1
    log=/tmp/bench-versions-$v-$cni.log
    t=$(now)
    if ! lc up >"$log" 2>&1; then
      echo "  $v × $cni: up FAILED (see $log)"
      continue
    fi
    up=$(since "$t")
    ready=$(k get nodes --no-headers | awk '$2 == "Ready"' | wc -l)
    server=$(k version -o json | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -1)
    dns="not checked (no local-test/busybox:1 image; the cluster tests make it)"
    if docker image inspect local-test/busybox:1 >/dev/null 2>&1; then
      lc load local-test/busybox:1 >/dev/null 2>&1
      k run dnscheck --image=local-test/busybox:1 --image-pull-policy=Never --restart=Never \
        --command -- sleep 600 >/dev/null
      k wait --for=condition=Ready pod/dnscheck --timeout=120s >/dev/null || true
      dns=$(k exec dnscheck -- nslookup kubernetes.default.svc.cluster.local 2>/dev/null | awk '/^Address: / { print $2 }' | tail -1)
      dns="kubernetes.default -> ${dns:-FAILED}"
    fi
    echo "  $v × $cni: up ${up}s, ${ready}/2 nodes Ready, API server $server, DNS: $dns"
  done
done
lc clean >/dev/null 2>&1
