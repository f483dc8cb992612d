# Shared by the bench scripts: the binary, local sources, timing helpers.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${LOCAL_CLUSTER_BIN:-$ROOT/target/release/local-cluster}
if [ ! -x "$BIN" ]; then
  (cd "$ROOT" && cargo build --release -q)
fi
# Build everything locally unless the caller says otherwise.
export K8S_DIND_KUBERNETES_SOURCE=${K8S_DIND_KUBERNETES_SOURCE:-go-module}
export K8S_DIND_IMAGE_SOURCE=${K8S_DIND_IMAGE_SOURCE:-build}
export K8S_DIND_ADDONS=${K8S_DIND_ADDONS-}

now() { date +%s.%N; }
since() { printf '%.1f' "$(echo "$(now) - $1" | bc)"; }
lc() { "$BIN" "$@"; }
