//! The master's pod network and the workers' joins side by side: the
//! bridge network waits for the master's pod range, which the controller
//! manager allocates seconds after `kubeadm init` returns, and the joins
//! need nothing from it. A network run as pods has its images in every node
//! before its manifest is applied, so no joining kubelet is sent a pod
//! whose image it would have to pull. Each install writes the network of
//! every node that has a range by then; the later one sees them all.

use super::{join, pod_network};
use crate::cluster::{Ctx, Result};
use crate::engine::Engine;
use crate::ops::up::job::Job;

step!(PodNetworkAndJoin, "pod-network-and-join", run);

async fn run<E: Engine>(cx: Ctx<'_, E>, job: &mut Job<'_>) -> Result<()> {
    let install = &job.extras.pod_network;
    tokio::try_join!(
        pod_network::on_master(cx, install),
        join::workers(cx, install)
    )?;
    Ok(())
}
