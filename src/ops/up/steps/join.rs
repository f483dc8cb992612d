//! `kubeadm join` on every worker, each then given the pod network's files.

use crate::cluster::state::plan::NodePlan;
use crate::cluster::steps::{kubeadm, pod_network};
use crate::cluster::{plural, Ctx, Result};
use crate::engine::Engine;
use crate::ops::up::job::Job;

step!(JoinWorkers, "join-workers", run);

async fn run<E: Engine>(cx: Ctx<'_, E>, job: &mut Job<'_>) -> Result<()> {
    let workers: Vec<&NodePlan> = cx.plan.workers().collect();
    if workers.is_empty() {
        return Ok(());
    }
    let step = cx.ui.step(format!(
        "Joining {} worker{} (kubeadm join)",
        workers.len(),
        plural(workers.len())
    ));
    kubeadm::join(cx).await?;
    pod_network::install(cx, &job.extras.pod_network, &workers).await?;
    step.done();
    Ok(())
}
