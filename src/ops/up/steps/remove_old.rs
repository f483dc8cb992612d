//! Whatever an earlier cluster of this name left: node containers, their
//! volumes, its snapshot images.

use crate::cluster::{Ctx, Result};
use crate::engine::Engine;
use crate::ops::lifecycle::remove_all;
use crate::ops::up::job::Job;

step!(RemoveOld, "remove-old", run);

async fn run<E: Engine>(cx: Ctx<'_, E>, _job: &mut Job<'_>) -> Result<()> {
    remove_all(cx).await
}
