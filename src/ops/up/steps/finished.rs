//! Last: the mark on every node that an `up` finished with it (an
//! interrupted `up` leaves unmarked nodes, which the next `up` does not take
//! as running).

use crate::cluster::steps::health;
use crate::cluster::{Ctx, Result};
use crate::engine::Engine;
use crate::ops::up::job::Job;

step!(MarkFinished, "mark-finished", run);

async fn run<E: Engine>(cx: Ctx<'_, E>, _job: &mut Job<'_>) -> Result<()> {
    health::mark_finished(cx).await
}
