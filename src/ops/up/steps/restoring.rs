//! Says that the cluster comes from its snapshot, and from when readiness
//! counts (heartbeats and pod starts recorded in the snapshot do not).

use std::time::SystemTime;

use crate::cluster::{Ctx, Result};
use crate::engine::Engine;
use crate::ops::up::job::Job;

step!(SayRestoring, "say-restoring", run);

async fn run<E: Engine>(cx: Ctx<'_, E>, job: &mut Job<'_>) -> Result<()> {
    cx.ui.info(format!(
        "Restoring cluster {:?} from its snapshot.",
        cx.plan.name
    ));
    job.since = Some(crate::time::rfc3339(SystemTime::now()));
    Ok(())
}
