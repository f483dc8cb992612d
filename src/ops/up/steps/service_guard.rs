//! Traffic to Service addresses kube-proxy has not translated yet is
//! rejected in every node (a unit that applies the rules at each boot).

use crate::cluster::steps::service_guard;
use crate::cluster::{Ctx, Result};
use crate::engine::Engine;
use crate::ops::up::job::Job;

step!(ServiceGuard, "service-guard", run);

async fn run<E: Engine>(cx: Ctx<'_, E>, _job: &mut Job<'_>) -> Result<()> {
    service_guard::install(cx).await
}
