//! `kubeadm join` on every worker, each then given the pod network's files.

use std::time::Duration;

use crate::cluster::state::plan::NodePlan;
use crate::cluster::steps::{kubeadm, pod_network, wait};
use crate::cluster::{plural, Ctx, Result};
use crate::cni;
use crate::engine::Engine;

/// How long the controller manager may take to sign `cluster-info`.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs beside the master's pod network ([`super::network_join`]).
pub(super) async fn workers<E: Engine>(cx: Ctx<'_, E>, install: &cni::Install) -> Result<()> {
    let workers: Vec<&NodePlan> = cx.plan.workers().collect();
    if workers.is_empty() {
        return Ok(());
    }
    let step = cx.ui.step(format!(
        "Joining {} worker{} (kubeadm join)",
        workers.len(),
        plural(workers.len())
    ));
    wait::while_nodes_run(cx, wait::booted(cx, &workers, super::nodes::BOOT_TIMEOUT)).await?;
    // The joins once they can discover the cluster (should that not come,
    // kubeadm's own wait says so).
    let token = kubeadm::bootstrap_token(cx.plan);
    let id = token.split('.').next().unwrap_or_default();
    if let Err(last) = wait::join_discovery(cx, id, DISCOVERY_TIMEOUT).await {
        cx.ui.note(format!(
            "the cluster-info ConfigMap is not signed for token {id} yet ({last}); joining anyway"
        ));
    }
    kubeadm::join(cx).await?;
    pod_network::install(cx, install, &workers).await?;
    step.done();
    Ok(())
}
