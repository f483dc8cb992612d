//! `kubeadm join` on every worker, each then given the pod network's files.

use crate::cluster::state::plan::NodePlan;
use crate::cluster::steps::{kubeadm, pod_network, wait};
use crate::cluster::{plural, Ctx, Result};
use crate::cni;
use crate::engine::Engine;

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
    kubeadm::join(cx).await?;
    pod_network::install(cx, install, &workers).await?;
    step.done();
    Ok(())
}
