//! `pause` and `unpause`, under the cluster's lock.

use anyhow::Result;

use super::{connect, lock_cluster, plan_without_version};
use crate::cluster::Ctx;
use crate::engine::Engine;
use crate::ops::pause;
use crate::settings::Settings;
use crate::ui::Ui;

pub async fn pause(settings: &Settings, ui: &Ui) -> Result<()> {
    pause_on(settings, ui, &connect(settings, ui).await?).await
}

pub(super) async fn pause_on<E: Engine>(settings: &Settings, ui: &Ui, engine: &E) -> Result<()> {
    let _lock = lock_cluster(settings, ui, engine, "pause").await?;
    let plan = plan_without_version(settings);
    pause::pause(Ctx::new(engine, &plan, ui)).await?;
    Ok(())
}

pub async fn unpause(settings: &Settings, ui: &Ui) -> Result<()> {
    unpause_on(settings, ui, &connect(settings, ui).await?).await
}

pub(super) async fn unpause_on<E: Engine>(settings: &Settings, ui: &Ui, engine: &E) -> Result<()> {
    let _lock = lock_cluster(settings, ui, engine, "unpause").await?;
    let plan = plan_without_version(settings);
    pause::unpause(Ctx::new(engine, &plan, ui)).await?;
    Ok(())
}
