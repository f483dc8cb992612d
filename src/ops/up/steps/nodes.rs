//! Every node container, started from its image (the node image, or its
//! snapshot) with its /var volume; a new cluster's also booted.

use std::time::Duration;

use crate::cluster::steps::node::{self, Launch};
use crate::cluster::steps::wait;
use crate::cluster::{plural, ClusterError, Ctx, Result};
use crate::engine::Engine;
use crate::ops::up::job::Job;

step!(StartNodes, "start-nodes", run);

/// How long a node may take to boot (systemd up, containerd answering).
pub(super) const BOOT_TIMEOUT: Duration = Duration::from_secs(120);

async fn run<E: Engine>(cx: Ctx<'_, E>, job: &mut Job<'_>) -> Result<()> {
    let count = cx.plan.nodes.len();
    let step = cx
        .ui
        .step(format!("Starting {count} node container{}", plural(count)));
    let mut launch = Launch {
        images: job.node_images.clone(),
        fingerprint: job.fingerprint(),
        api_port: job.api_port,
        mode: job.mode(),
    };
    match node::create_all(cx, &launch).await {
        // A snapshot's port was free when it was made; another program
        // may hold it now.
        Err(e @ ClusterError::ApiPortTaken { .. }) if job.api_port_may_change => {
            cx.ui.note(format!(
                "{}; starting with a new API server port",
                crate::error::chain(&e)
            ));
            node::remove_all(cx).await?;
            launch.api_port = None;
            job.api_port = None;
            node::create_all(cx, &launch).await?;
        }
        other => other?,
    }
    if job.wait_boot {
        // The master's boot: `kubeadm init` needs it. The workers boot
        // meanwhile; their joins wait for them.
        let master = [cx.plan.master()];
        wait::while_nodes_run(cx, wait::booted(cx, &master, BOOT_TIMEOUT)).await?;
    }
    step.done();
    Ok(())
}
