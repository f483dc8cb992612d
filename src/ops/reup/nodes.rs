//! Steps 2 and 3: new binaries into every node's `/usr/bin` (uploaded
//! beside them, then renamed): kubeadm and kubectl, then the kubelet,
//! restarted and waited for.

use std::path::PathBuf;

use futures_util::future::try_join_all;

use super::record::record;
use super::{wait_for, Binary};
use crate::cluster::{ClusterError, Ctx, Result};
use crate::engine::Engine;

/// New binaries wait here, on the same filesystem as /usr/bin, to be
/// renamed into place (a running binary cannot be overwritten).
const INCOMING: &str = "/usr/bin/.local-cluster-incoming";

/// Put `binaries` into `/usr/bin` of `node`: uploaded beside it, then renamed.
async fn install<E: Engine>(cx: Ctx<'_, E>, node: &str, binaries: &[&Binary]) -> Result<()> {
    let files: Vec<(String, PathBuf)> = binaries
        .iter()
        .map(|b| (b.name.clone(), b.path.clone()))
        .collect();
    cx.engine.upload_files(node, INCOMING, &files).await?;
    let moves: Vec<String> = binaries
        .iter()
        .map(|b| {
            format!(
                "chmod 755 {INCOMING}/{0} && mv -f {INCOMING}/{0} /usr/bin/{0}",
                b.name
            )
        })
        .collect();
    cx.engine
        .sh(node, &format!("{} && rmdir {INCOMING}", moves.join(" && ")))
        .await?;
    Ok(())
}

/// Step 2: kubeadm and kubectl in every node, kubectl beside admin.conf.
pub(super) async fn replace_tools<E: Engine>(cx: Ctx<'_, E>, tools: &[&Binary]) -> Result<()> {
    let names: Vec<&str> = tools.iter().map(|b| b.name.as_str()).collect();
    let step = cx.ui.step(format!(
        "Replacing {} in {} nodes",
        names.join(" and "),
        cx.plan.nodes.len()
    ));
    try_join_all(
        cx.plan
            .nodes
            .iter()
            .map(|n| install(cx, &n.container, tools)),
    )
    .await?;
    if let Some(kubectl) = tools.iter().find(|b| b.name == "kubectl") {
        let host = cx.plan.kubectl_path();
        // Beside it, then renamed: the old one may be running.
        let incoming = host.with_extension("new");
        std::fs::copy(&kubectl.path, &incoming).map_err(ClusterError::io("writing", &incoming))?;
        std::fs::rename(&incoming, &host).map_err(ClusterError::io("replacing", &host))?;
    }
    record(cx, tools).await?;
    step.done();
    Ok(())
}

/// Step 3: the kubelet on every node, restarted; then every node Ready
/// with a heartbeat from the new kubelet.
pub(super) async fn replace_kubelet<E: Engine>(cx: Ctx<'_, E>, kubelet: &Binary) -> Result<()> {
    let step = cx.ui.step(format!(
        "Replacing and restarting the kubelet on {} nodes",
        cx.plan.nodes.len()
    ));
    let since = crate::time::rfc3339(std::time::SystemTime::now());
    // Restarted, then healthy: the new process answers on its health port.
    let healthy = "systemctl restart kubelet; i=0; \
                   until curl -sf --max-time 1 http://127.0.0.1:10248/healthz >/dev/null; do \
                   i=$((i + 1)); [ $i -lt 600 ] || { echo 'kubelet not healthy'; exit 1; }; sleep 0.1; done";
    try_join_all(cx.plan.nodes.iter().map(|n| async move {
        install(cx, &n.container, &[kubelet]).await?;
        cx.engine
            .sh(&n.container, healthy)
            .await
            .map_err(|source| ClusterError::Restart {
                what: format!("the kubelet on {}", n.name),
                source,
            })
    }))
    .await?;
    let kubectl = cx.kubectl();
    let expected = cx.plan.nodes.len();
    wait_for("the nodes' kubelets", &step, || async {
        let nodes = kubectl.nodes().await?;
        let fresh = nodes
            .iter()
            .filter(|n| n.ready && n.heartbeat.as_str() >= since.as_str())
            .count();
        Ok((fresh >= expected)
            .then_some(())
            .ok_or(format!("{fresh}/{expected} nodes Ready")))
    })
    .await?;
    record(cx, &[kubelet]).await?;
    step.done();
    Ok(())
}
