#!/usr/bin/env bash
# CI from nothing, without touching this machine's engine or caches: a clean
# clone of a commit is run by .ci/run (setup, then .ci/test) inside a network
# namespace of its own, against a dockerd of its own whose data root starts
# empty (no node image, no snapshot), with an empty HOME (no tool cache, no Go
# build or module cache, no ~/.kubeadm-local-cluster) and no cargo target.
# Kept from this machine: the Rust toolchain and cargo's registry of crate
# sources (CARGO_HOME, RUSTUP_HOME), the Go toolchain and Debian packages.
#
#   bench/ci-cold.sh [COMMIT] [-- .ci/test ARGS]   default: HEAD, the core tier
#   WARM=1 bench/ci-cold.sh ...                     then .ci/test again: the warm figure
#   KEEP=1 bench/ci-cold.sh ...                     keep the directory (caches, logs)
#
# For its figures the machine should be otherwise idle. Work beside it in
# another terminal or session competes for the CPU as an equal whatever its
# `nice`, when the kernel groups tasks by session (autogroup, the default);
# run `echo 19 > /proc/self/autogroup` in that session first, so its work
# takes only what the run leaves idle.
#
# The namespace reaches the Go module proxy and the Debian mirror through
# this machine (masquerade), as the tool does on a normal machine; the tests
# inside send traffic only to their own loopback and containers.
# Prints the wall times and appends them to bench/results/ci-DATE.md.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
commit=HEAD
if [ $# -gt 0 ] && [ "$1" != -- ]; then commit=$1; shift; fi
[ "${1:-}" != -- ] || shift
test_args=("$@")
commit=$(git -C "$ROOT" rev-parse --verify "$commit^{commit}")

# The run's directory takes a data root, Go caches, a cargo target and the
# tiers' builds: the --all run of 2026-12-06 filled a disk at about 27 GB
# (its reup tier failed on "no space left"). Refuse to start short of room.
need_gb=${NEED_GB:-20}
[ ${#test_args[@]} -eq 0 ] || need_gb=${NEED_GB:-40}
free_gb=$(df -P --block-size=1G /var/tmp | awk 'NR == 2 { print $4 }')
if [ "$free_gb" -lt "$need_gb" ]; then
  echo "only $free_gb GB free under /var/tmp; this cold run needs about $need_gb GB (NEED_GB=N to start anyway)" >&2
  exit 1
fi

netns=lc-ci-cold
host_link=lcci-host
ns_link=lcci-ns
host_addr=198.18.240.1
ns_addr=198.18.240.2
dir=$(mktemp -d /var/tmp/lc-ci-cold-XXXXXX)
# Reachable for the test that runs the tool as a member of the socket's group
# (dockerd gives its socket the docker group); what is private inside stays so.
chmod 755 "$dir"
log=$dir/ci.log
dockerd_pid=
firewall_set=
made_socket=

# The namespace's way out, through this machine.
firewall() { # firewall -I | -D
  iptables -t nat "$1" POSTROUTING -s "$ns_addr/32" -j MASQUERADE
  iptables "$1" FORWARD -i "$host_link" -j ACCEPT
  iptables "$1" FORWARD -o "$host_link" -j ACCEPT
}

cleanup() {
  set +e
  if [ -n "$dockerd_pid" ]; then
    # Its containers first, so that their mounts go before the data root.
    ids=$(DOCKER_HOST=unix://$dir/docker.sock timeout 30 docker ps -aq 2>/dev/null)
    [ -z "$ids" ] || DOCKER_HOST=unix://$dir/docker.sock timeout 120 docker rm -f $ids >/dev/null 2>&1
    kill -TERM "$dockerd_pid" 2>/dev/null
    for _ in $(seq 60); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 1; done
    kill -KILL "$dockerd_pid" 2>/dev/null
  fi
  for p in $(ip netns pids "$netns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
  ip netns del "$netns" 2>/dev/null
  ip link del "$host_link" 2>/dev/null
  [ -z "$firewall_set" ] || firewall -D 2>/dev/null
  grep -o " $dir[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l
  [ -z "$made_socket" ] || rm -f "$host_socket"
  if [ -n "${KEEP:-}" ]; then echo "kept: $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT

# A leftover of an interrupted run.
ip netns del "$netns" 2>/dev/null || true
ip link del "$host_link" 2>/dev/null || true

ip netns add "$netns"
ip link add "$host_link" type veth peer name "$ns_link"
ip link set "$ns_link" netns "$netns"
ip addr add "$host_addr/30" dev "$host_link"
ip link set "$host_link" up
ip -n "$netns" addr add "$ns_addr/30" dev "$ns_link"
ip -n "$netns" link set "$ns_link" up
ip -n "$netns" link set lo up
ip -n "$netns" route add default via "$host_addr"
sysctl -qw net.ipv4.ip_forward=1
firewall -I
firewall_set=1

mkdir -p "$dir/data" "$dir/exec" "$dir/home"
# nsenter, not `ip netns exec`: the latter remounts /sys, hiding the cgroup
# file systems dockerd needs.
nsenter --net="/run/netns/$netns" dockerd --data-root="$dir/data" --exec-root="$dir/exec" \
  --pidfile="$dir/docker.pid" -H "unix://$dir/docker.sock" >"$dir/dockerd.log" 2>&1 &
dockerd_pid=$!
export DOCKER_HOST=unix://$dir/docker.sock
for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
docker info >/dev/null 2>&1 || { cat "$dir/dockerd.log" >&2; exit 1; }

git clone -q "$ROOT" "$dir/src"
git -C "$dir/src" checkout -q "$commit"

# The engine on this machine's default socket is the run's own too: where
# the tool takes images from "the local engine" for a remote one (`load`),
# it asks /run/docker.sock whatever DOCKER_HOST says. The run sees its
# dockerd's socket there, in a mount namespace of its own; this machine's
# engine stays out of reach. (Nothing else differs: the tool gives the
# engine no host paths to mount, only volumes.)
host_socket=/run/docker.sock
if [ ! -e "$host_socket" ]; then
  : >"$host_socket"
  made_socket=1
fi

# In the namespaces, as a fresh user of this machine would be.
in_ns() {
  nsenter --net="/run/netns/$netns" unshare --mount --propagation private \
    sh -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' bind "$dir/docker.sock" "$host_socket" \
    env -u XDG_CACHE_HOME -u GOCACHE -u GOMODCACHE -u GOPATH \
    -u CARGO_TARGET_DIR -u DOCKER_CONTEXT -u DOCKER_CONFIG -u LOCAL_CLUSTER_CONF \
    HOME="$dir/home" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" \
    RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" DOCKER_HOST="$DOCKER_HOST" "$@"
}

load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "cold CI of $commit in $dir (log: $log); load $(load)"
start=$(date +%s)
status=0
(cd "$dir/src" && in_ns bash -c '.ci/setup && .ci/test "$@"' ci "${test_args[@]}") >"$log" 2>&1 || status=$?
cold=$(( $(date +%s) - start ))
cold_load=$(load)
tail -n 3 "$log"
echo "cold: $cold s, exit $status, load at the end $cold_load"
warm=-
if [ "$status" = 0 ] && [ -n "${WARM:-}" ]; then
  start=$(date +%s)
  (cd "$dir/src" && in_ns .ci/test "${test_args[@]}") >"$dir/warm.log" 2>&1 || status=$?
  warm=$(( $(date +%s) - start ))
  tail -n 3 "$dir/warm.log"
  echo "warm: $warm s, exit $status, load at the end $(load)"
fi

tiers=$(awk -F'\t' '{ printf "%s %ss (%s); ", $2, $3, $4 }' "$dir/src/target/ci-times.tsv" 2>/dev/null || true)
mkdir -p "$ROOT/bench/results"
out=$ROOT/bench/results/ci-$(date -u +%F).md
[ -f "$out" ] || printf '# .ci/test from nothing (bench/ci-cold.sh)\n\n| date (UTC) | commit | tiers | cold s | warm s | exit | load at end | machine | per tier |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n' >"$out"
printf '| %s | %s | %s | %s | %s | %s | %s | %s cores, %s GiB, %s | %s |\n' \
  "$(date -u +%FT%TZ)" "${commit:0:10}" "${test_args[*]:-core}" "$cold" "$warm" "$status" "$cold_load" \
  "$(nproc)" "$(awk '/MemTotal/ { printf "%d", $2 / 1048576 }' /proc/meminfo)" \
  "$(docker version --format 'Docker {{.Server.Version}}' 2>/dev/null)" "$tiers" >>"$out"
echo "appended to $out"
[ "$status" = 0 ] || { echo "failed: see $log (KEEP=1 keeps it)" >&2; exit "$status"; }
