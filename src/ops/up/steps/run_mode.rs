//! How the node containers get their rights: privileged where the engine
//! allows it, else explicit capabilities; what the snapshot recorded when
//! it is known and the settings leave it to the tool.

use crate::cluster::state::plan::RunMode;
use crate::cluster::steps::node;
use crate::cluster::{Ctx, Result};
use crate::engine::Engine;
use crate::ops::up::job::Job;
use crate::settings::NodeRunMode;

step!(DecideRunMode, "run-mode", run);

async fn run<E: Engine>(cx: Ctx<'_, E>, job: &mut Job<'_>) -> Result<()> {
    let mode = decide(cx, job).await?;
    cx.ui.note(match mode {
        RunMode::Privileged => "nodes run as privileged containers",
        RunMode::Capabilities => {
            "nodes run with explicit capabilities (this engine refuses --privileged)"
        }
    });
    job.mode = Some(mode);
    Ok(())
}

/// The snapshot's run mode when the settings leave it to the tool, else
/// what the settings say or a probe finds.
pub(super) async fn decide<E: Engine>(cx: Ctx<'_, E>, job: &Job<'_>) -> Result<RunMode> {
    match job.known_mode {
        Some(mode) if cx.plan.run_mode == NodeRunMode::Auto => Ok(mode),
        _ => node::detect_run_mode(cx, &job.image.reference).await,
    }
}
