//! `status`: what the engine holds of the cluster and how its nodes are,
//! with what `up` would do about it.

use anyhow::Result;

use super::exit::Exit;
use super::images::node_arch;
use super::{connect, plan_without_version};
use crate::cluster::state::health::Condition;
use crate::cluster::state::snapshot::SnapshotState;
use crate::cluster::steps::snapshot;
use crate::cluster::Ctx;
use crate::engine::Engine;
use crate::images::node as node_image;
use crate::ops::lifecycle;
use crate::output;
use crate::settings::Settings;
use crate::ui::Ui;

pub async fn status(settings: &Settings, ui: &Ui) -> Result<Exit> {
    let engine = connect(settings, ui).await?;
    let (lines, exit) = report(settings, ui, &engine).await?;
    for line in lines {
        output::line(line)?;
    }
    Ok(exit)
}

/// How `status` ends for a cluster in `condition`: scripts test it.
pub(super) fn exit_for(condition: &Condition) -> Exit {
    match condition {
        Condition::Healthy => Exit::Success,
        Condition::Absent => Exit::NotRunning,
        Condition::Unfinished | Condition::Broken { .. } => Exit::Unwell,
        Condition::Paused => Exit::Paused,
    }
}

/// What `status` prints, line by line, and how it ends.
pub(super) async fn report<E: Engine>(
    settings: &Settings,
    ui: &Ui,
    engine: &E,
) -> Result<(Vec<String>, Exit)> {
    let mut lines = Vec::new();
    let mut say = |line: String| lines.push(line);
    let plan = plan_without_version(settings);
    let cx = Ctx::new(engine, &plan, ui);
    let health = crate::cluster::steps::health::inspect(cx).await?;
    let condition = health.condition();
    let snapshot = snapshot::state(cx).await?;
    let flag = plan.cluster_flag();
    match &condition {
        Condition::Absent => say(format!("cluster {}: not running", plan.name)),
        Condition::Healthy => say(format!("cluster {}: running", plan.name)),
        Condition::Paused => say(format!(
            "cluster {}: paused; `local-cluster unpause{flag}` resumes it",
            plan.name,
        )),
        Condition::Unfinished => say(format!(
            "cluster {}: not finished (an `up` was interrupted, or the nodes restarted under it); \
             `local-cluster up{flag}` starts it again",
            plan.name,
        )),
        Condition::Broken { .. } => say(format!(
            "cluster {}: broken nodes; `local-cluster up{flag}` repairs them{}",
            plan.name,
            if matches!(snapshot, SnapshotState::Complete { .. }) {
                " (from the snapshot where needed)"
            } else {
                ""
            }
        )),
    }
    if condition != Condition::Absent {
        for (node, state) in &health.nodes {
            say(format!("  {}: {}", node.name, state.describe()));
        }
        if matches!(condition, Condition::Healthy | Condition::Broken { .. }) {
            for line in crate::cluster::steps::kubectl::node_readiness(cx).await {
                say(format!("  {line}"));
            }
        }
    }
    say(format!(
        "snapshot: {}",
        match &snapshot {
            SnapshotState::None => "none".to_string(),
            SnapshotState::Complete { fields, .. } => format!(
                "Kubernetes {}, {} worker(s)",
                fields.kubernetes_version, fields.num_nodes
            ),
            SnapshotState::Damaged(why) => format!("damaged ({why})"),
        }
    ));
    let named = crate::cluster::steps::named::list(cx).await?;
    if !named.is_empty() {
        let names: Vec<String> = named
            .iter()
            .map(|s| match &s.damage {
                Some(_) => format!("{} (damaged)", s.name),
                None => format!(
                    "{} ({})",
                    s.name,
                    crate::ops::snapshots::say_date(s.saved_at)
                ),
            })
            .collect();
        say(format!("named snapshots: {}", names.join(", ")));
    }
    // The snapshot's version, else the configured one when it is exact.
    let version = match (&snapshot, &settings.kubernetes_version) {
        (SnapshotState::Complete { fields, .. }, _) => Some(fields.kubernetes_version.clone()),
        (_, crate::settings::VersionSpec::Exact(v)) => Some(v.to_string()),
        _ => None,
    };
    if let Some(version) = version {
        let reference =
            node_image::node_image_reference(&version, &node_arch(settings, engine.info()));
        match node_image::facts(engine, &reference).await? {
            Some(facts) => say(format!(
                "node image: {reference} (Kubernetes {}; {})",
                facts.kubernetes_version.as_deref().unwrap_or("?"),
                facts
                    .binaries
                    .as_deref()
                    .unwrap_or("made by an older local-cluster: origin not recorded")
            )),
            None => match lifecycle::orphaned_node_image(cx, &reference, &version, &node_arch(settings, engine.info())).await? {
                Some(id) => say(format!(
                    "node image: {reference} (missing; the snapshot's node image {id} is still in the engine: `up` tags it again and restores)"
                )),
                None if matches!(snapshot, SnapshotState::Complete { .. }) => say(format!(
                    "node image: {reference} (missing: `up` builds it again, and the snapshot, made from the old one, is then replaced by a new cluster)"
                )),
                None => say(format!("node image: {reference} (not built yet)")),
            },
        }
    }
    let registry = crate::registry::describe(cx).await?;
    say(format!("registry: {registry}"));
    let (endpoint, info) = (engine.endpoint(), engine.info());
    say(format!(
        "engine: {} {} ({}/{}, {}) at {} ({}){}",
        info.product,
        info.server_version,
        info.os_type,
        info.arch,
        info.image_store,
        endpoint.host,
        endpoint.origin,
        if endpoint.is_remote() {
            format!("; ports published on {}", endpoint.published_address())
        } else {
            String::new()
        }
    ));
    Ok((lines, exit_for(&condition)))
}
