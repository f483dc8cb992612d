//! Repair: containerd and the kubelet started again on nodes whose
//! container is fine; a node whose units will not start is replaced too
//! (when the snapshot can replace it).

use crate::cluster::state::health::UNITS;
use crate::cluster::steps::health;
use crate::cluster::{ClusterError, Ctx, Result};
use crate::engine::Engine;
use crate::ops::up::job::Job;

step!(RestartUnits, "restart-units", run);

async fn run<E: Engine>(cx: Ctx<'_, E>, job: &mut Job<'_>) -> Result<()> {
    for name in job.restart.clone() {
        let node = cx.plan.node(&name)?;
        let step = cx
            .ui
            .step(format!("Starting {} again on {name}", UNITS.join(" and ")));
        if health::restart_units(cx, node).await {
            step.done();
        } else if job.from_snapshot {
            drop(step);
            cx.ui.warn(format!(
                "{name}: its units do not start; replacing the node"
            ));
            job.replace.push(name);
        } else {
            drop(step);
            return Err(ClusterError::UnitsDoNotStart {
                node: name,
                flag: cx.plan.cluster_flag(),
            });
        }
    }
    Ok(())
}
