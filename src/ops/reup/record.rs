//! What the nodes run: step 1 asks every node (the sha256 of its
//! `/usr/bin` binaries, and the record of what swaps gave the control
//! plane and kube-proxy) which new binaries differ; swaps add to the
//! record.

use std::collections::BTreeMap;

use futures_util::future::try_join_all;

use super::Binary;
use crate::cluster::{Ctx, Result};
use crate::engine::Engine;

/// Where a node notes which builds swaps gave it: `<binary> <sha256>
/// [<code>]` lines, the code being what the build was made from without
/// its version stamp ([`crate::source::fingerprint`]).
const RECORD: &str = "/etc/kubeadm-local-cluster/swapped";

/// Binaries installed in every node's /usr/bin.
const NODE_BINARIES: [&str; 3] = ["kubeadm", "kubelet", "kubectl"];

/// What one node runs, as it reports it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NodeReport {
    /// The sha256 of what runs, by binary name.
    pub running: BTreeMap<String, String>,
    /// The code of builds swaps gave the node, by binary name and sha256.
    pub code: BTreeMap<(String, String), String>,
}

/// A node's report: `sha256sum` lines for its `/usr/bin` binaries (what is
/// there), then the record of what swaps gave it (for the control plane
/// and kube-proxy, later lines win).
pub(super) fn parse_node_report(text: &str) -> NodeReport {
    let mut report = NodeReport::default();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[..] {
            [sha, file] if file.starts_with("/usr/bin/") => {
                let name = &file["/usr/bin/".len()..];
                report.running.insert(name.to_string(), sha.to_string());
            }
            [name, sha] | [name, sha, _] if sha.len() == 64 && name.len() != 64 => {
                if let [_, _, code] = words[..] {
                    report
                        .code
                        .insert((name.to_string(), sha.to_string()), code.to_string());
                }
                if !NODE_BINARIES.contains(&name) {
                    // What runs as a container.
                    report.running.insert(name.to_string(), sha.to_string());
                }
            }
            _ => {}
        }
    }
    report
}

/// How a new binary compares with what one node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sameness {
    /// The very same file.
    Same,
    /// Built from the same code, with another version stamp.
    SameCode,
    /// Other code, or nothing says.
    Other,
}

fn compare(new: &Binary, node: &NodeReport) -> Sameness {
    let Some(sha) = node.running.get(&new.name) else {
        return Sameness::Other;
    };
    if *sha == new.sha256 {
        return Sameness::Same;
    }
    match (&new.code, node.code.get(&(new.name.clone(), sha.clone()))) {
        (Some(new), Some(old)) if new == old => Sameness::SameCode,
        _ => Sameness::Other,
    }
}

/// How `new` compares with what every node runs: the least alike.
pub(super) fn compare_all(new: &Binary, nodes: &[NodeReport]) -> Sameness {
    let all: Vec<Sameness> = nodes.iter().map(|n| compare(new, n)).collect();
    if all.contains(&Sameness::Other) {
        Sameness::Other
    } else if all.contains(&Sameness::SameCode) {
        Sameness::SameCode
    } else {
        Sameness::Same
    }
}

/// Whether every node runs a build of `name` made from `code`.
pub fn runs_code(name: &str, code: &str, nodes: &[NodeReport]) -> bool {
    nodes.iter().all(|node| {
        node.running
            .get(name)
            .and_then(|sha| node.code.get(&(name.to_string(), sha.clone())))
            .is_some_and(|recorded| recorded == code)
    })
}

/// What every node runs, as it reports it.
pub async fn reports<E: Engine>(cx: Ctx<'_, E>) -> Result<Vec<NodeReport>> {
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
    Ok(reports.iter().map(|r| parse_node_report(r)).collect())
}

/// Step 1: how each of `new` compares with what runs, as every node
/// reported it ([`reports`]); only [`Sameness::Other`] needs a swap.
pub fn changed(new: &[Binary], nodes: &[NodeReport]) -> Vec<(Binary, Sameness)> {
    new.iter()
        .map(|b| (b.clone(), compare_all(b, nodes)))
        .collect()
}

/// Note on every node that `binaries` now run.
pub(super) async fn record<E: Engine>(cx: Ctx<'_, E>, binaries: &[&Binary]) -> Result<()> {
    let lines: String = binaries
        .iter()
        .map(|b| match &b.code {
            Some(code) => format!("{} {} {code}\n", b.name, b.sha256),
            None => format!("{} {}\n", b.name, b.sha256),
        })
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
