//! What the nodes run: step 1 asks every node (the sha256 of its
//! `/usr/bin` binaries, and the record of what swaps gave the control
//! plane and kube-proxy) which new binaries differ; swaps add to the
//! record.

use std::collections::BTreeMap;

use futures_util::future::try_join_all;

use super::Binary;
use crate::cluster::{Ctx, Result};
use crate::engine::Engine;

/// Where a node notes which builds of the control plane and kube-proxy
/// swaps gave it: `<binary> <sha256>` lines.
const RECORD: &str = "/etc/kubeadm-local-cluster/swapped";

/// Binaries installed in every node's /usr/bin.
const NODE_BINARIES: [&str; 3] = ["kubeadm", "kubelet", "kubectl"];

/// `name hash` per binary as one node reports them: `sha256sum` lines for
/// its `/usr/bin` binaries (what is there), then the record of what swaps
/// gave the control plane and kube-proxy (later lines win).
pub(super) fn parse_node_report(text: &str) -> BTreeMap<String, String> {
    let mut hashes = BTreeMap::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let (Some(a), Some(b), None) = (words.next(), words.next(), words.next()) else {
            continue;
        };
        if let Some(name) = b.strip_prefix("/usr/bin/") {
            hashes.insert(name.to_string(), a.to_string());
        } else if a.len() != 64 && !NODE_BINARIES.contains(&a) {
            // What runs as a container; later records win.
            hashes.insert(a.to_string(), b.to_string());
        }
    }
    hashes
}

/// The new binaries some node does not run yet.
pub(super) fn differing<'a>(
    new: &'a [Binary],
    nodes: &[BTreeMap<String, String>],
) -> Vec<&'a Binary> {
    new.iter()
        .filter(|b| nodes.iter().any(|n| n.get(&b.name) != Some(&b.sha256)))
        .collect()
}

/// Step 1: which of `new` differ from what runs, as every node reports it.
pub async fn changed<E: Engine>(cx: Ctx<'_, E>, new: &[Binary]) -> Result<Vec<Binary>> {
    let script = format!(
        "cd /usr/bin && sha256sum {} 2>/dev/null | sed 's#  #  /usr/bin/#'; cat {RECORD} 2>/dev/null; true",
        NODE_BINARIES.join(" ")
    );
    let reports = try_join_all(
        cx.plan
            .nodes
            .iter()
            .map(|n| cx.engine.sh(&n.container, &script)),
    )
    .await?;
    let nodes: Vec<BTreeMap<String, String>> =
        reports.iter().map(|r| parse_node_report(r)).collect();
    Ok(differing(new, &nodes).into_iter().cloned().collect())
}

/// Note on every node that `binaries` now run.
pub(super) async fn record<E: Engine>(cx: Ctx<'_, E>, binaries: &[&Binary]) -> Result<()> {
    let lines: String = binaries
        .iter()
        .map(|b| format!("{} {}\n", b.name, b.sha256))
        .collect();
    let script = format!("mkdir -p \"$(dirname {RECORD})\" && cat >> {RECORD} <<'EOF'\n{lines}EOF");
    try_join_all(
        cx.plan
            .nodes
            .iter()
            .map(|n| cx.engine.sh(&n.container, &script)),
    )
    .await?;
    Ok(())
}
