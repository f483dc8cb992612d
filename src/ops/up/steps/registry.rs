//! The nodes told about the cluster's local registry, when it has one (a
//! registry that outlived `down` serves the new or restored nodes too).

use crate::cluster::{Ctx, Result};
use crate::engine::Engine;
use crate::ops::up::job::Job;

step!(RegistryNodes, "registry-nodes", run);

async fn run<E: Engine>(cx: Ctx<'_, E>, _job: &mut Job<'_>) -> Result<()> {
    crate::registry::after_up(cx).await;
    Ok(())
}
