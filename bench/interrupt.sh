#!/usr/bin/env bash
# Interruptions at random points: RUNS times, start `up` (after `down`, or
# after `clean` every CLEAN_EVERY-th run), `down`, `clean` or (BUILD=1, the
# default) `build node-image --force`, stop it with SIGINT or SIGTERM after
# a random time within about how long the command takes (MAX_UP, MAX_DOWN,
# MAX_CLEAN, MAX_BUILD seconds), then check that the next `up` brings the
# cluster up (status: running); after a stopped build, also that the node
# image is still there and no build container is left. At the end `clean`
# must leave nothing of the cluster. Prints each run and the counts.
source "$(dirname "$0")/common.sh"
export K8S_DIND_CLUSTER_NAME=bench-int K8S_DIND_DIND_SUBNET=10.221.0.0/24
export K8S_DIND_NUM_NODES=${K8S_DIND_NUM_NODES:-1}
runs=${RUNS:-20}
max_up=${MAX_UP:-40} max_down=${MAX_DOWN:-7} max_clean=${MAX_CLEAN:-8}
max_build=${MAX_BUILD:-90} kinds=$([ "${BUILD:-1}" = 1 ] && echo 4 || echo 3)
image=${IMAGE:-kubeadm-local-cluster/node:${K8S_DIND_KUBERNETES_VERSION:-v1.37.2}-amd64}
clean_every=${CLEAN_EVERY:-4}
log=$(mktemp -d)
lc clean >/dev/null 2>&1
lc up >"$log/first" 2>&1 || { cat "$log/first"; exit 1; }
stopped=0 finished_first=0 recovered=0 failed=0 build_damage=0
for i in $(seq "$runs"); do
  case $((RANDOM % kinds)) in
    0) cmd=down max_delay=$max_down ;;
    1) cmd=clean max_delay=$max_clean ;;
    2) cmd=up max_delay=$max_up ;;
    *) cmd=build max_delay=$max_build ;;
  esac
  if [ "$cmd" = up ]; then
    if [ $((i % clean_every)) -eq 0 ]; then lc clean >/dev/null 2>&1; else lc down >/dev/null 2>&1; fi
  fi
  sig=$([ $((RANDOM % 2)) -eq 0 ] && echo INT || echo TERM)
  delay=$(printf '%d.%d' $((RANDOM % max_delay)) $((RANDOM % 10)))
  # The binary itself, not a subshell running `lc`: the signal must reach it.
  args=("$cmd")
  [ "$cmd" != build ] || args=(build node-image --force)
  "$BIN" "${args[@]}" >"$log/run$i" 2>&1 &
  pid=$!
  sleep "$delay"
  t=$(now)
  if kill -0 "$pid" 2>/dev/null; then kill -"$sig" "$pid"; fi
  set +e
  wait "$pid"
  code=$?
  set -e
  took=$(since "$t")
  if [ "$code" -eq 0 ]; then finished_first=$((finished_first + 1)); how="finished before the signal"
  else stopped=$((stopped + 1)); how="stopped (exit $code, ${took}s after SIG$sig)"; fi
  if [ "$cmd" = build ]; then
    builders=$(docker ps -aq --filter name=local-cluster-build- | wc -l)
    if ! docker image inspect "$image" >/dev/null 2>&1 || [ "$builders" -ne 0 ]; then
      build_damage=$((build_damage + 1))
      echo "run $i: after the stopped build: image $image $(docker image inspect "$image" >/dev/null 2>&1 && echo present || echo MISSING), $builders build container(s) left"
    fi
  fi
  start=$(now)
  # (status is read whole: with pipefail, `| head -1` would fail it.)
  if lc up >"$log/up$i" 2>&1 && status=$(lc status 2>/dev/null) &&
    [ "${status%%$'\n'*}" = "cluster bench-int: running" ]; then
    recovered=$((recovered + 1))
    echo "run $i: $cmd, SIG$sig after ${delay}s: $how; up then took $(since "$start")s"
  else
    failed=$((failed + 1))
    echo "run $i: $cmd, SIG$sig after ${delay}s: $how; up FAILED (see $log/up$i)"
  fi
done
lc clean >/dev/null 2>&1
left=$(docker ps -aq --filter label=io.kubeadm-local-cluster.cluster=bench-int | wc -l)
left=$((left + $(docker volume ls -q --filter label=io.kubeadm-local-cluster.cluster=bench-int | wc -l)))
echo "runs: $runs; stopped by the signal: $stopped; finished first: $finished_first"
echo "up afterwards: $recovered succeeded, $failed failed; objects left after clean: $left"
echo "stopped builds that lost the node image or left a build container: $build_damage"
[ "$failed" -eq 0 ] && [ "$left" -eq 0 ] && [ "$build_damage" -eq 0 ]
