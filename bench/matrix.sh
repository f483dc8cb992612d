#!/usr/bin/env bash
# The CI matrix: each supported Kubernetes version × each pod network that
# runs here, one cell each on a fresh 1 master + 2 workers cluster: `up`,
# every node Ready, DNS (a pod resolves kubernetes.default), pod-to-pod
# traffic across nodes, and five named conformance tests; plus one cell
# (bridge) built from the newest Kubernetes version the Go module proxy
# lists (the tool's `latest`; the proxy's lists can be incomplete). With
# FULL=1, then the whole conformance suite (`e2e`, then `e2e-serial`) once
# per version, on a fresh bridge cluster (~45 min per version here, more
# for the serial part).
#
# Usage: bench/matrix.sh [VERSION...]   VERSION: 1.35, 1.36, 1.37 (the newest
#        patch the proxy lists), an exact v1.x.y, or `newest`;
#        default: 1.35 1.36 1.37 newest
#        CNIS="bridge flannel" bench/matrix.sh 1.37      (pod networks)
#        FULL=1 bench/matrix.sh 1.36                     (cells, then the suite)
#        FULL=only bench/matrix.sh 1.36                  (the suite alone)
# Appends to bench/results/matrix-<date>.md; logs in /tmp/bench-matrix-*.
# On a shared machine run it as `nice -n 19 bench/matrix.sh ...`.
source "$(dirname "$0")/common.sh"

versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(1.35 1.36 1.37 newest)
read -r -a cnis <<<"${CNIS:-bridge flannel kube-router}"
full=${FULL:-0}
case $full in 0 | 1 | only) ;; *) echo "FULL is 0, 1 or only, not $full" >&2; exit 2 ;; esac
for v in "${versions[@]}"; do
  [[ $v =~ ^(newest|v?1\.[0-9]+(\.[0-9]+)?)$ ]] || { echo "unknown version $v (1.x, v1.x.y or newest)" >&2; exit 2; }
done

# Busybox (httpd, wget, nslookup) for the checks' pods, made from the host's
# static busybox like the cluster tests make theirs (another name: theirs
# may be rebuilt while a cell runs).
BUSYBOX=bench-matrix/busybox:1
# The five conformance tests of each cell: Services, DNS and pod-to-pod
# traffic, ~a minute each. Texts contained in the tests' full names.
TESTS=(
  "[sig-network] DNS should provide DNS for the cluster"
  "[sig-network] DNS should provide DNS for services"
  "[sig-network] Services should serve a basic endpoint from pods"
  "[sig-network] Services should be able to create a functioning NodePort service"
  "[sig-network] Networking Granular Checks: Pods should function for intra-pod communication: http"
)
# Each as a ginkgo focus (a regular expression matching the text as written);
# several foci select the tests matching any of them.
focus=()
for test in "${TESTS[@]}"; do
  focus+=("--ginkgo.focus=$(printf '%s' "$test" | sed 's/[][\.*^$+?(){}|]/\\&/g')")
done

export K8S_DIND_NUM_NODES=2
results=$ROOT/bench/results/matrix-$(date +%F).md
mkdir -p "$(dirname "$results")"
start=$(now)
progress() { echo "[$(printf '%6.0f' "$(since "$start")")s] $*"; }
md() { printf '%s\n' "$@" >>"$results"; }

# The cluster a cell works on (cleaned on exit, also when interrupted).
current=
cleanup() {
  if [ -n "$current" ]; then
    K8S_DIND_CLUSTER_NAME=$current lc clean >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Distinct subnets, away from the tests' 10.2[0-4]x.*: 10.250.<v*10+c>.0/24,
# the full suite's at c = 9.
version_index() {
  case $1 in 1.35 | v1.35.*) echo 0 ;; 1.36 | v1.36.*) echo 1 ;; 1.37 | v1.37.*) echo 2 ;;
    newest) echo 3 ;; *) echo 4 ;; esac
}
use_cluster() { # TAG CNI SUBNET-INDEX [NAME-SUFFIX (default: CNI)]
  current=matrix-$1-${4:-$2}
  home=$HOME/.kubeadm-local-cluster/clusters/$current
  export K8S_DIND_CLUSTER_NAME=$current K8S_DIND_DIND_SUBNET=10.250.$3.0/24 K8S_DIND_CNI_PLUGIN=$2
  lc clean >/dev/null 2>&1
}
k() { KUBECONFIG=$home/admin.conf "$home/kubectl" "$@"; }
# Retry a command for up to $1 seconds until it succeeds.
within() {
  local deadline=$(($(date +%s) + $1))
  shift
  until "$@"; do
    [ "$(date +%s)" -lt $deadline ] || return 1
    sleep 2
  done
}
# The last error-looking lines of a log, on one line, for the table.
why() { { grep -iE 'error|fail|refus' "$1" || tail -1 "$1"; } | tail -2 | tr '\n|' '  ' | cut -c1-300; }

make_busybox() {
  docker image inspect "$BUSYBOX" >/dev/null 2>&1 && return
  local dir applet
  dir=$(mktemp -d)
  mkdir -p "$dir/bin" "$dir/www"
  cp "$(command -v busybox)" "$dir/bin/busybox"
  for applet in sh mkdir echo httpd wget nslookup sleep; do ln -s busybox "$dir/bin/$applet"; done
  tar -C "$dir" -c . | docker import -c 'ENV PATH=/bin' - "$BUSYBOX" >/dev/null
  rm -rf "$dir"
}

pod() { # NAME NODE COMMAND
  k apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  nodeName: $2
  terminationGracePeriodSeconds: 0
  containers:
  - {name: c, image: "$BUSYBOX", imagePullPolicy: Never, command: [sh, -c, '$3']}
EOF
}
all_ready() {
  local nodes
  nodes=$(k get nodes --no-headers 2>/dev/null) || return 1
  [ "$(echo "$nodes" | awk '$2 == "Ready"' | wc -l)" -eq $((K8S_DIND_NUM_NODES + 1)) ]
}
# "name status; " of each node.
node_states() { k get nodes --no-headers 2>&1 | awk '{ printf "%s %s; ", $1, $2 }' || true; }
server_version() { k version -o json 2>/dev/null | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -1 || true; }
resolves() { # the pod's nslookup gives the kubernetes Service's address
  k exec client -- nslookup kubernetes.default.svc.cluster.local 2>/dev/null |
    awk '/^Address/ { a = $NF } END { print a }' | grep -qx "$api_ip"
}
# (busybox's own `timeout`: `wget -T` crashes in Debian's busybox 1.35.)
reaches() { k exec client -- busybox timeout 3 wget -q -O- "http://$server_ip:8080/" 2>/dev/null | grep -qx server; }

# One cell; appends its row. Sets nothing outside but `current`.
cell() { # VERSION TAG CNI SUBNET-INDEX [LABEL]
  local version=$1 tag=$2 cni=$3 log=/tmp/bench-matrix-$2-$3 label=${5:-$1} t cell_t
  local up=- ready=- dns=- p2p=- tests=- result=FAIL server=-
  cell_t=$(now)
  use_cluster "$tag" "$cni" "$4"
  export K8S_DIND_KUBERNETES_VERSION=$version
  progress "$version × $cni: up ($current, $K8S_DIND_DIND_SUBNET)"
  t=$(now)
  if ! lc up >"$log-up.log" 2>&1; then
    up="FAILED after $(since "$t")s: $(why "$log-up.log")"
    progress "$version × $cni: up failed, see $log-up.log"
  else
    up="$(since "$t")s"
    server=$(server_version)
    progress "$version × $cni: up in $up ($server)"
    t=$(now)
    if within 120 all_ready; then ready="all $((K8S_DIND_NUM_NODES + 1)) ($(since "$t")s)"; else ready="NO: $(node_states)"; fi
    # Server and client pods on two workers: traffic crosses nodes.
    local workers=()
    mapfile -t workers < <(k get nodes --no-headers -l '!node-role.kubernetes.io/control-plane' -o custom-columns=N:.metadata.name 2>/dev/null || true)
    workers+=(- -)
    lc load "$BUSYBOX" >"$log-load.log" 2>&1 || true
    pod server "${workers[0]}" 'mkdir -p /www && echo server >/www/index.html && exec httpd -f -p 8080 -h /www' || true
    pod client "${workers[1]}" 'exec sleep 100000' || true
    k wait --for=condition=Ready pod/server pod/client --timeout=120s >/dev/null 2>&1 || true
    api_ip=$(k get service kubernetes -o jsonpath='{.spec.clusterIP}' 2>/dev/null || true)
    server_ip=$(k get pod server -o jsonpath='{.status.podIP}' 2>/dev/null || true)
    t=$(now)
    if [ -n "$api_ip" ] && within 60 resolves; then dns="kubernetes.default → $api_ip ($(since "$t")s)"; else dns="FAILED"; fi
    t=$(now)
    if [ -n "$server_ip" ] && within 60 reaches; then p2p="${workers[1]} → ${workers[0]} ($(since "$t")s)"; else
      p2p="FAILED (client on ${workers[1]} → server ${server_ip:-without address} on ${workers[0]})"
    fi
    progress "$version × $cni: nodes Ready $ready; DNS $dns; pod → pod $p2p"
    # A dry run first: the test binaries and images (a cold build of the
    # binaries takes a quarter of an hour), and which tests the foci select.
    progress "$version × $cni: test binaries and images (dry run)"
    t=$(now)
    lc e2e -- "${focus[@]}" --ginkgo.dry-run >"$log-prepare.out" 2>"$log-prepare.log" || true
    local prepare selected counts failures
    prepare=$(since "$t")
    selected=$(sed -n 's/^Dry run: \([0-9]*\) tests selected.*/\1/p' "$log-prepare.out")
    progress "$version × $cni: ready in ${prepare}s, ${selected:-no} tests selected; running them"
    t=$(now)
    lc e2e -- "${focus[@]}" >"$log-e2e.out" 2>"$log-e2e.log" || true
    counts=$(e2e_counts "$log-e2e.out")
    failures=$(e2e_failures "$log-e2e.out" | tr '\n' ';')
    tests="${counts:-$(e2e_summary "$log-e2e.out" "$log-e2e.log"): $(why "$log-e2e.log")} in $(since "$t")s (binaries and images ${prepare}s)${failures:+: $failures}"
    [ "${selected:-0}" -eq ${#TESTS[@]} ] || tests="$tests; the foci selected ${selected:-no} tests, not ${#TESTS[@]}"
    progress "$version × $cni: $tests"
    if [[ $ready != NO* && $dns != FAILED* && $p2p != FAILED* && $counts == "5 passed, 0 failed, 0 skipped" ]]; then
      result=pass
    fi
  fi
  lc clean >/dev/null 2>&1 || true
  current=
  md "| $label | $cni | $server | $up | $ready | $dns | $p2p | ${tests//|/\\|} | $(since "$cell_t")s | **$result** |"
  progress "$version × $cni: $result in $(since "$cell_t")s"
}

full_suite() { # VERSION TAG SUBNET-INDEX
  local version=$1 log=/tmp/bench-matrix-$2-full t part
  use_cluster "$2" bridge "$3" full
  export K8S_DIND_KUBERNETES_VERSION=$version
  md "" "### $version: full conformance suite (bridge, $current)" ""
  progress "$version: full suite: up"
  t=$(now)
  if ! lc up >"$log-up.log" 2>&1; then
    md "- up FAILED after $(since "$t")s: $(why "$log-up.log")"
  else
    md "- up: $(since "$t")s, $(server_version)"
    for part in e2e e2e-serial; do
      progress "$version: full suite: $part"
      # Each failed test as a sub-item under the part's line.
      e2e_run "$part" "$log-$part.out" "$log-$part.log" | sed -e '1s/^/- /' -e '2,$s/^  /  - /' -e 's/^Results/  - results/' >>"$results"
      progress "$version: $(grep "^- $part:" "$results" | tail -1)"
    done
  fi
  lc clean >/dev/null 2>&1 || true
  current=
}

# The run's header: what and where.
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
md "" "## $(date -u '+%F %H:%M') UTC: bench/matrix.sh ${*:-(all)}${FULL:+ (FULL=$full)}" ""
md "- commit $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src Cargo.toml Cargo.lock bench ':!bench/results' || echo ' (with uncommitted changes)') ($(git -C "$ROOT" log -1 --format=%s | cut -c1-80))"
md "- machine: $(nproc) cores, $mem, kernel $(uname -r), Docker $(docker version --format '{{.Server.Version}}'), $(go version | awk '{ print $3 }')"
md "- cluster: 1 master + 2 workers, sources: Kubernetes $K8S_DIND_KUBERNETES_SOURCE, images $K8S_DIND_IMAGE_SOURCE, addons: ${K8S_DIND_ADDONS:-none}"
md "- the five tests: $(printf '%s; ' "${TESTS[@]}")"
if [ "$full" != only ]; then
  md "" "| version | pod network | API server | up | nodes Ready | DNS | pod → pod (other node) | 5 conformance tests | cell | result |" \
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
fi
make_busybox

for v in "${versions[@]}"; do
  i=$(version_index "$v")
  tag=${v//./-}
  if [ "$full" != only ]; then
    if [ "$v" = newest ]; then
      # The tool's `latest` with go-module: the newest version `go list -m
      # -versions k8s.io/kubernetes` gives, pre-releases included.
      newest=$(GOTOOLCHAIN=local GOFLAGS='' go list -m -versions k8s.io/kubernetes | awk '{ print $NF }' || true)
      progress "newest: the Go module proxy lists ${newest:-nothing}"
      cell latest newest bridge $((i * 10)) "newest (latest: ${newest:-?})"
    else
      c=0
      for cni in "${cnis[@]}"; do
        cell "$v" "$tag" "$cni" $((i * 10 + c))
        c=$((c + 1))
      done
    fi
  fi
  if [ "$full" != 0 ] && [ "$v" != newest ]; then
    full_suite "$v" "$tag" $((i * 10 + 9))
  fi
done
progress "done; results in $results"
