//! The cluster's Docker network, let go first by a local registry made for
//! another subnet.

use crate::cluster::steps::network;
use crate::cluster::{Ctx, Result};
use crate::engine::Engine;
use crate::ops::up::job::Job;

step!(Network, "network", run);

async fn run<E: Engine>(cx: Ctx<'_, E>, _job: &mut Job<'_>) -> Result<()> {
    let plan = cx.plan;
    let step = cx.ui.step(format!(
        "Preparing network {} ({})",
        plan.network, plan.subnet
    ));
    crate::registry::before_network(cx).await;
    network::ensure(cx).await?;
    step.done();
    Ok(())
}
