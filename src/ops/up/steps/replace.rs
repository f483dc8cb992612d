//! Repair: nodes that are gone, stopped or not finished started anew from
//! their snapshot images with their /var volumes, which keeps their
//! identity, certificates and (on the master) etcd.

use crate::cluster::steps::node::{self, Launch};
use crate::cluster::{Ctx, Result};
use crate::engine::Engine;
use crate::ops::up::job::Job;

step!(ReplaceNodes, "replace-nodes", run);

async fn run<E: Engine>(cx: Ctx<'_, E>, job: &mut Job<'_>) -> Result<()> {
    if job.replace.is_empty() {
        return Ok(());
    }
    let step = cx.ui.step(format!(
        "Replacing {} from the snapshot: {}",
        if job.replace.len() == 1 {
            "a node"
        } else {
            "nodes"
        },
        job.replace.join(", ")
    ));
    let mode = super::run_mode::decide(cx, job).await?;
    job.mode = Some(mode);
    // The port admin.conf names: the master's as published now, else the
    // settings' or the snapshot's.
    let api_port = match node::published_api_port(cx).await {
        Ok(port) => Some(port),
        Err(_) => cx.plan.apiserver_port.or(job.api_port),
    };
    let launch = Launch {
        images: job.node_images.clone(),
        fingerprint: job.fingerprint(),
        api_port,
        mode,
    };
    node::replace(cx, &launch, &job.replace).await?;
    step.done();
    Ok(())
}
