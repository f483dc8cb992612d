//! admin.conf (naming the API server's published port) and a kubectl for
//! the node image's architecture, in the cluster's home directory.

use crate::cluster::steps::{kubeconfig, node};
use crate::cluster::{Ctx, Result};
use crate::engine::Engine;
use crate::ops::up::job::Job;

step!(ExportFiles, "export-files", run);

async fn run<E: Engine>(cx: Ctx<'_, E>, job: &mut Job<'_>) -> Result<()> {
    let step = cx.ui.step("Writing admin.conf and kubectl");
    let port = node::published_api_port(cx).await?;
    kubeconfig::export_admin_conf(cx, port).await?;
    kubeconfig::export_kubectl(cx, &job.image.arch).await?;
    step.done();
    Ok(())
}
