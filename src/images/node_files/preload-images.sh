#!/bin/sh
# Runs in the node image's build container: imports the image archives in
# $IMPORT_DIR into containerd's k8s.io namespace (as the kubelet will see
# them), pins the ones kubeadm needs ($PINNED, space-separated) so the
# kubelet's image garbage collection never removes them, prints what
# containerd holds, and leaves no trace but the images.
set -eu
containerd >/var/tmp/containerd.log 2>&1 &
pid=$!
for _ in $(seq 100); do ctr version >/dev/null 2>&1 && break; sleep 0.1; done
for f in "$IMPORT_DIR"/*.tar; do
	ctr -n k8s.io images import --no-unpack "$f"
done
for ref in $PINNED; do
	ctr -n k8s.io images label "$ref" io.cri-containerd.pinned=pinned >/dev/null
done
ctr -n k8s.io images ls -q
kill $pid
while kill -0 $pid 2>/dev/null; do sleep 0.1; done
rm -rf "$IMPORT_DIR" /var/tmp/containerd.log
