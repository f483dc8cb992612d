//! A warning when the host's inotify limits are low for this many nodes.

use crate::cluster::steps::node;
use crate::cluster::{Ctx, Result};
use crate::engine::Engine;
use crate::ops::up::job::Job;

step!(InotifyLimit, "inotify-limit", run);

async fn run<E: Engine>(cx: Ctx<'_, E>, _job: &mut Job<'_>) -> Result<()> {
    node::check_inotify_limit(cx).await
}
