//! The addons the settings name (prepared before the cluster was made).

use crate::cluster::steps::addons;
use crate::cluster::{Ctx, Result};
use crate::engine::Engine;
use crate::ops::up::job::Job;

step!(Addons, "addons", run);

async fn run<E: Engine>(cx: Ctx<'_, E>, job: &mut Job<'_>) -> Result<()> {
    let prepared = &job.extras.addons;
    if prepared.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = prepared.iter().map(|a| a.name.as_str()).collect();
    let step = cx
        .ui
        .step(format!("Installing addons: {}", names.join(", ")));
    addons::install(cx, prepared).await;
    step.done();
    Ok(())
}
