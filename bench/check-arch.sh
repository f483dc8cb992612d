#!/usr/bin/env bash
# Checks that a node image is wholly of one architecture:
#   bench/check-arch.sh IMAGE ARCH      (ARCH: amd64 arm64 arm ppc64le s390x)
# - the image config's Architecture (docker image inspect) is ARCH;
# - every ELF file in the image's filesystem, and in every layer of the
#   images preloaded in its containerd, has ARCH's e_machine (read from the
#   ELF header itself, so no `file` magic database decides);
# - every preloaded image's config says ARCH;
# - where this host can run ARCH (natively or qemu-user through binfmt_misc),
#   `kubeadm version` runs in the image.
# Prints a summary; exits non-zero on any mismatch. Needs root (the export
# holds root-owned files) and Docker.
set -euo pipefail
image=${1:?usage: $0 IMAGE ARCH}
arch=${2:?usage: $0 IMAGE ARCH}
# Go arch -> ELF e_machine, byte order, ELF class, binfmt_misc entry.
case $arch in
  amd64) machine=62 endian=little class=2 qemu=x86_64 ;;
  arm64) machine=183 endian=little class=2 qemu=aarch64 ;;
  arm) machine=40 endian=little class=1 qemu=arm ;;
  ppc64le) machine=21 endian=little class=2 qemu=ppc64le ;;
  s390x) machine=22 endian=big class=2 qemu=s390x ;;
  *) echo "unknown architecture $arch (amd64 arm64 arm ppc64le s390x)" >&2; exit 2 ;;
esac
platform=linux/$arch
[ "$arch" = arm ] && platform=linux/arm/v7
fail=0
work=$(mktemp -d /var/tmp/lc-check-arch.XXXX)
container=
cleanup() {
  [ -n "$container" ] && docker rm -f "$container" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

configured=$(docker image inspect --format '{{.Os}}/{{.Architecture}}{{if .Variant}}/{{.Variant}}{{end}}' "$image")
echo "image config: $configured"
case $configured in
  linux/"$arch" | linux/"$arch"/*) ;;
  *) echo "MISMATCH: the image config says $configured, expected linux/$arch"; fail=1 ;;
esac

# The filesystem, as a container of the image has it (created, never started).
container=$(docker create --platform "$platform" "$image" /bin/true)
mkdir "$work/root"
docker export "$container" | tar -x -C "$work/root" --exclude='dev/*' 2>/dev/null || true

# check_tree DIR LABEL: counts ELF files in DIR by e_machine.
check_tree() {
  local dir=$1 label=$2 total=0 good=0 f head m c
  local bad=()
  while IFS= read -r -d '' f; do
    head=$(head -c 4 "$f" | od -An -tx1 | tr -d ' \n')
    [ "$head" = 7f454c46 ] || continue
    c=$(od -An -j4 -N1 -tu1 "$f" | tr -d ' ')
    m=$(od -An -j18 -N2 -tu2 --endian="$endian" "$f" | tr -d ' ')
    total=$((total + 1))
    if [ "$m" = "$machine" ] && [ "$c" = "$class" ]; then
      good=$((good + 1))
    else
      bad+=("${f#"$dir"/} (e_machine $m, class $c)")
    fi
  done < <(find "$dir" -type f -size +63c -print0)
  if [ ${#bad[@]} -eq 0 ]; then
    echo "$label: $total ELF files, all $arch (e_machine $machine)"
  else
    echo "MISMATCH $label: ${#bad[@]} of $total ELF files are not $arch:"
    printf '  %s\n' "${bad[@]:0:20}"
    fail=1
  fi
}
check_tree "$work/root" "node filesystem"

# The preloaded images: their layers (gzip tarballs) and configs (JSON with
# an "architecture" field) in containerd's content store.
blobs=$work/root/var/lib/containerd/io.containerd.content.v1.content/blobs/sha256
layers=0 configs=0
if [ -d "$blobs" ]; then
  mkdir "$work/layers"
  for blob in "$blobs"/*; do
    kind=$(head -c 2 "$blob" | od -An -tx1 | tr -d ' \n')
    if [ "$kind" = 1f8b ]; then
      layers=$((layers + 1))
      mkdir "$work/layers/$layers"
      tar -xzf "$blob" -C "$work/layers/$layers" 2>/dev/null || true
    elif grep -q '"architecture"' "$blob" && grep -q '"rootfs"' "$blob"; then
      configs=$((configs + 1))
      got=$(grep -o '"architecture":"[^"]*"' "$blob" | head -1 | cut -d'"' -f4)
      if [ "$got" != "$arch" ]; then
        echo "MISMATCH: preloaded image config ${blob##*/} says $got"
        fail=1
      fi
    fi
  done
  echo "preloaded images: $configs configs (architecture $arch unless listed above), $layers layers"
  check_tree "$work/layers" "preloaded image layers"
else
  echo "no containerd content store (a bare image?)"
fi

# Run kubeadm in the image where this host can.
if [ -x "$work/root/usr/bin/kubeadm" ]; then
  host=$(uname -m)
  if [ "$host" = "$qemu" ] || { [ "$arch" = amd64 ] && [ "$host" = x86_64 ]; } ||
    grep -qs '^flags: .*F' "/proc/sys/fs/binfmt_misc/qemu-$qemu"; then
    if out=$(docker run --rm --platform "$platform" --entrypoint /usr/bin/kubeadm "$image" version -o short 2>&1); then
      echo "kubeadm version in the image ($platform): $out"
    else
      echo "FAILED: kubeadm version in the image: $out"
      fail=1
    fi
  else
    echo "kubeadm version not run: this $host host has no binfmt_misc entry qemu-$qemu with flag F"
  fi
fi
[ $fail = 0 ] && echo "OK: $image is $arch throughout"
exit $fail
