//! `up`: decide from what the engine holds which path to take (nothing,
//! repair, restore or a new cluster, saying why), then run that path's
//! steps ([`paths`]). A repair that fails starts the nodes again; a restore
//! that fails makes a new cluster.

pub mod job;
pub mod paths;
pub mod steps;

use futures_util::future::LocalBoxFuture;

use crate::cluster::state::decide::{self, CreateReason, UpPath};
use crate::cluster::state::health::Condition;
use crate::cluster::state::snapshot::SnapshotFields;
use crate::cluster::steps::{health, node, snapshot};
use crate::cluster::{Ctx, Result};
use crate::engine::Engine;
use crate::ops::lifecycle::say_running;
use job::{Job, Prepare};

/// How `up` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpOutcome {
    AlreadyRunning,
    Created,
    Restored,
    /// Broken nodes were brought back; the others kept running.
    Repaired,
    /// It was paused, and runs again as it was.
    Unpaused,
}

/// The node image a cluster is made from.
#[derive(Debug, Clone)]
pub struct NodeImageRef {
    pub reference: String,
    pub id: String,
    pub arch: String,
}

/// What a new cluster installs beyond kubeadm's: made by `up`'s caller only
/// when a cluster is to be created (a restore needs none of it), before
/// anything is removed or created.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    pub pod_network: crate::cni::Install,
    pub addons: Vec<crate::addons::Prepared>,
}

/// The error of preparing [`Extras`], whatever its type.
pub type PrepareError = Box<dyn std::error::Error + Send + Sync>;

/// Bring the cluster up from `image`; `prepare` makes the [`Extras`] if a
/// new cluster is made.
pub async fn up<'a, E: Engine, P>(
    cx: Ctx<'_, E>,
    image: &'a NodeImageRef,
    prepare: P,
) -> Result<UpOutcome>
where
    P: AsyncFnOnce() -> std::result::Result<Extras, PrepareError> + 'a,
{
    let prepare: Prepare<'a> =
        Box::new(move || -> LocalBoxFuture<'a, _> { Box::pin(async move { prepare().await }) });
    up_with(cx, image, prepare).await
}

async fn up_with<'a, E: Engine>(
    cx: Ctx<'_, E>,
    image: &'a NodeImageRef,
    prepare: Prepare<'a>,
) -> Result<UpOutcome> {
    let plan = cx.plan;
    let fields = SnapshotFields::of(plan, &image.id);
    let mut found = health::inspect(cx).await?;
    // A paused cluster is thawed first; what it then needs is judged anew.
    let unpaused = found.condition() == Condition::Paused;
    if unpaused {
        crate::ops::pause::unpause(cx).await?;
        found = health::inspect(cx).await?;
    }
    let condition = found.condition();
    let decision = decide::up_path(&condition, &snapshot::state(cx).await?, &fields);
    if decision.path == UpPath::AlreadyRunning {
        if unpaused {
            return Ok(UpOutcome::Unpaused);
        }
        say_running(cx);
        return Ok(UpOutcome::AlreadyRunning);
    }
    say_condition(cx, &condition, &found.problems());
    if let UpPath::Repair { .. } = &decision.path {
        let mut job = Job::new(plan.nodes.len(), image, fields.clone());
        job.for_repair(plan, &decision.path);
        match job::run(cx, &paths::repair(), &mut job).await {
            Ok(()) => return Ok(UpOutcome::Repaired),
            Err(e) => {
                cx.ui.warn(format!(
                    "repairing cluster {:?} failed ({}); starting all its nodes again",
                    plan.name,
                    crate::error::chain(&e)
                ));
                node::remove_all(cx).await?;
                // Decided again without nodes: restore, or a new cluster.
                return Box::pin(up_with(cx, image, prepare)).await;
            }
        }
    }
    if decision.remove_nodes {
        if matches!(condition, Condition::Broken { .. }) {
            cx.ui.warn(format!(
                "without a snapshot for these settings the broken nodes cannot be replaced \
                 alone; making cluster {:?} anew",
                plan.name
            ));
        }
        cx.ui.note("removing the node containers first");
        node::remove_all(cx).await?;
    }
    match &decision.path {
        UpPath::Restore { .. } => {
            let mut job = Job::new(plan.nodes.len(), image, fields.clone());
            job.for_restore(plan, &decision.path);
            match job::run(cx, &paths::restore(), &mut job).await {
                Ok(()) => return Ok(UpOutcome::Restored),
                Err(e) => cx.ui.warn(format!(
                    "restoring cluster {:?} from its snapshot failed ({}); making a new cluster",
                    plan.name,
                    crate::error::chain(&e)
                )),
            }
        }
        UpPath::Create(reason) => say_why_new(cx, reason),
        UpPath::AlreadyRunning | UpPath::Repair { .. } => {}
    }
    let mut job = Job::new(plan.nodes.len(), image, fields);
    job.api_port = plan.apiserver_port;
    job.prepare = Some(prepare);
    job::run(cx, &paths::create(), &mut job).await?;
    Ok(UpOutcome::Created)
}

/// Warn about a cluster that is there but not well.
fn say_condition<E>(cx: Ctx<'_, E>, condition: &Condition, problems: &[String]) {
    match condition {
        Condition::Unfinished => cx.ui.warn(format!(
            "cluster {:?} was not finished by an `up` (interrupted, or its nodes were \
             restarted under it); starting it again",
            cx.plan.name
        )),
        Condition::Broken { .. } => cx.ui.warn(format!(
            "cluster {:?} has broken nodes: {}",
            cx.plan.name,
            problems.join("; ")
        )),
        Condition::Absent | Condition::Healthy | Condition::Paused => {}
    }
}

/// Say why a new cluster is made when there was a snapshot.
fn say_why_new<E>(cx: Ctx<'_, E>, reason: &CreateReason) {
    match reason {
        CreateReason::Stale(difference) => cx.ui.info(format!(
            "The snapshot of cluster {:?} was made for other settings ({difference}); making a new one.",
            cx.plan.name
        )),
        CreateReason::Damaged(why) => cx.ui.warn(format!(
            "the snapshot of cluster {:?} is damaged ({why}); making a new cluster",
            cx.plan.name
        )),
        CreateReason::NoSnapshot => {}
    }
}
