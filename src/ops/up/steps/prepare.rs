//! What a new cluster installs beyond kubeadm's (its pod network and
//! addons), prepared before anything is removed or created.

use crate::cluster::{ClusterError, Ctx, Result};
use crate::engine::Engine;
use crate::ops::up::job::Job;

step!(PrepareExtras, "prepare-extras", run);

async fn run<E: Engine>(_cx: Ctx<'_, E>, job: &mut Job<'_>) -> Result<()> {
    if let Some(prepare) = job.prepare.take() {
        job.extras = prepare().await.map_err(ClusterError::Preparing)?;
    }
    Ok(())
}
