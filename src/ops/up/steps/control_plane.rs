//! `kubeadm init` on the master, then the system pods tuned for a small
//! machine.

use crate::cluster::steps::kubeadm;
use crate::cluster::{Ctx, Result};
use crate::engine::Engine;
use crate::ops::up::job::Job;

step!(InitControlPlane, "init-control-plane", run);

async fn run<E: Engine>(cx: Ctx<'_, E>, _job: &mut Job<'_>) -> Result<()> {
    let step = cx.ui.step(format!(
        "Initializing the control plane on {} (kubeadm init)",
        cx.plan.master().name
    ));
    kubeadm::init(cx).await?;
    kubeadm::tune_system_pods(cx).await?;
    step.done();
    Ok(())
}
