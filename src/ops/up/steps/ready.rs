//! Every node Ready, kube-proxy and CoreDNS running (after the path's start,
//! when it has one).

use crate::cluster::steps::kubectl::Fresh;
use crate::cluster::steps::wait;
use crate::cluster::{Ctx, Result};
use crate::engine::Engine;
use crate::ops::up::job::Job;

step!(WaitReady, "wait-ready", run);

async fn run<E: Engine>(cx: Ctx<'_, E>, job: &mut Job<'_>) -> Result<()> {
    wait::ready(cx, Fresh::since(job.since.as_deref().unwrap_or(""))).await
}
