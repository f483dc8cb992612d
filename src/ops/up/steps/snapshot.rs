//! Every node committed as the cluster's snapshot, labelled with the
//! settings it was made for, the API server's port and the run mode.

use crate::cluster::steps::{node, snapshot};
use crate::cluster::{Ctx, Result};
use crate::engine::Engine;
use crate::ops::up::job::Job;

step!(SaveSnapshot, "save-snapshot", run);

async fn run<E: Engine>(cx: Ctx<'_, E>, job: &mut Job<'_>) -> Result<()> {
    let step = cx.ui.step("Saving a snapshot for fast restarts");
    let port = node::published_api_port(cx).await?;
    snapshot::take(cx, &job.fields, port, job.mode()).await?;
    step.done();
    Ok(())
}
