//! Certificates that expired (or will soon) while the cluster slept in its
//! snapshot are renewed before anything waits on the API server: a restore
//! a year later, or a master replaced from an old snapshot, comes up
//! working. Nothing is shown when all are far from expiry.

use std::time::SystemTime;

use crate::cluster::state::certs::{self, say_span, say_when};
use crate::cluster::steps::certs as node_certs;
use crate::cluster::{ClusterError, Ctx, Result};
use crate::engine::Engine;
use crate::ops::up::job::Job;

step!(RenewCertificates, "renew-certificates", run);

async fn run<E: Engine>(cx: Ctx<'_, E>, _job: &mut Job<'_>) -> Result<()> {
    let held = node_certs::list(cx).await?;
    let now = crate::time::unix_seconds(SystemTime::now());
    let renewal = certs::decide(&held, now, cx.plan.certificate_validity).map_err(|e| {
        ClusterError::AuthorityExpired {
            node: e.node,
            flag: cx.plan.cluster_flag(),
            path: e.path,
            ago: say_span(now.abs_diff(e.not_after)),
        }
    })?;
    let Some(due) = renewal.earliest() else {
        return Ok(());
    };
    let step = cx.ui.step(format!(
        "Renewing certificates ({} on {})",
        say_when(due, now),
        due.path
    ));
    node_certs::renew(cx, &renewal).await?;
    step.done();
    Ok(())
}
