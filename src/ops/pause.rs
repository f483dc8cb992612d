//! `pause` and `unpause`: every node of a cluster frozen by the engine (the
//! cgroup freezer: its processes keep their memory and get no CPU) and
//! thawed again. Nothing is stopped, so nothing is lost. After the thaw the
//! API calls every node NotReady (their leases ran out while they slept):
//! the kubelets are restarted, which report at once, and the cluster is
//! waited for as after a restore, but with the pods' old starts counting.

use std::time::SystemTime;

use futures_util::future::try_join_all;

use crate::cluster::steps::kubectl::Fresh;
use crate::cluster::steps::{health, wait};
use crate::cluster::{plural, ClusterError, Ctx, Result};
use crate::engine::{ContainerState, Engine};
use crate::ui::seconds;

/// How `pause` or `unpause` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nodes were frozen or thawed.
    Done,
    /// They already were as asked: nothing changed.
    AlreadySo,
}

/// Freeze every running node. A cluster without node containers is an
/// error; one whose nodes are all paused already is left as it is.
pub async fn pause<E: Engine>(cx: Ctx<'_, E>) -> Result<Outcome> {
    let states = cx.node_states().await?;
    if states.is_empty() {
        return Err(ClusterError::NotRunning {
            cluster: cx.plan.name.clone(),
            flag: cx.plan.cluster_flag(),
        });
    }
    let running = named(&states, ContainerState::Running);
    if running.is_empty() {
        cx.ui.info(format!(
            "Cluster {:?} is paused already; nothing changed.",
            cx.plan.name
        ));
        return Ok(Outcome::AlreadySo);
    }
    let step = cx.ui.step(format!(
        "Pausing {} node{}",
        running.len(),
        plural(running.len())
    ));
    try_join_all(running.iter().map(|n| cx.engine.pause_container(n))).await?;
    let took = step.done();
    cx.ui.info(format!(
        "Cluster {:?} is paused ({}): its nodes use no CPU and keep their memory. \
         `local-cluster unpause{}` resumes it.",
        cx.plan.name,
        seconds(took),
        cx.plan.cluster_flag()
    ));
    Ok(Outcome::Done)
}

/// Thaw every paused node, then wait until the cluster is ready again.
pub async fn unpause<E: Engine>(cx: Ctx<'_, E>) -> Result<Outcome> {
    let states = cx.node_states().await?;
    let paused = named(&states, ContainerState::Paused);
    if paused.is_empty() {
        cx.ui.info(format!(
            "Cluster {:?} is not paused; nothing changed.",
            cx.plan.name
        ));
        return Ok(Outcome::AlreadySo);
    }
    let start = std::time::Instant::now();
    let since = crate::time::rfc3339(SystemTime::now());
    let step = cx.ui.step(format!(
        "Unpausing {} node{}",
        paused.len(),
        plural(paused.len())
    ));
    try_join_all(paused.iter().map(|n| cx.engine.unpause_container(n))).await?;
    step.done();
    after_thaw(cx, &since).await?;
    cx.ui.info(format!(
        "Cluster {:?} is running again (unpaused in {}).",
        cx.plan.name,
        seconds(start.elapsed())
    ));
    Ok(Outcome::Done)
}

/// After nodes thawed at `since` (RFC 3339): the kubelets restarted, so
/// that they report at once, and the cluster waited for, counting only
/// heartbeats since then (the pods' starts from before count), and until
/// each kubelet serves its pods again (`kubectl exec` works).
pub(crate) async fn after_thaw<E: Engine>(cx: Ctx<'_, E>, since: &str) -> Result<()> {
    health::restart_kubelets(cx).await;
    let fresh = Fresh {
        heartbeats: since,
        pod_starts: "",
    };
    wait::ready(cx, fresh).await?;
    let timeout = std::time::Duration::from_secs(120);
    wait::while_nodes_run(cx, wait::kubelets_serving(cx, timeout)).await
}

/// The names of the containers in `states` that are `wanted`.
pub(crate) fn named(
    states: &std::collections::BTreeMap<String, ContainerState>,
    wanted: ContainerState,
) -> Vec<String> {
    states
        .iter()
        .filter(|(_, s)| **s == wanted)
        .map(|(n, _)| n.clone())
        .collect()
}
