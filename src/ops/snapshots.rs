//! `snapshot save | restore | list | rm`: named snapshots of a cluster with
//! its workloads ([`crate::cluster::state::snapshot::named`]).
//!
//! Saving freezes every node for as long as the copies take, so that etcd,
//! containerd and the workloads' volumes are saved at one moment. Restoring
//! makes the saved snapshot the cluster's own and leaves the rest to `up`,
//! which restores it as after `down`.

use std::time::{Instant, SystemTime};

use futures_util::future::try_join_all;

use crate::cluster::state::health::Condition;
use crate::cluster::state::snapshot::named::Saved;
use crate::cluster::state::snapshot::{SnapshotFields, SnapshotLabels, SnapshotState};
use crate::cluster::steps::{health, named, snapshot};
use crate::cluster::{plural, ClusterError, Ctx, Result};
use crate::engine::Engine;
use crate::ops::{lifecycle, pause};
use crate::ui::seconds;

/// Frozen longer than this, the nodes' leases may have run out: the thaw
/// then restarts the kubelets and waits, as `unpause` does.
const LEASE_SAFE_SECS: u64 = 20;

/// Save the running cluster as snapshot `name`; returns its size in bytes.
pub async fn save<E: Engine>(cx: Ctx<'_, E>, name: &str) -> Result<u64> {
    named::check_name(name)?;
    let plan = cx.plan;
    if let Some(there) = named::list(cx).await?.into_iter().find(|s| s.name == name) {
        return Err(ClusterError::SnapshotExists {
            cluster: plan.name.clone(),
            name: name.to_string(),
            when: say_date(there.saved_at),
            flag: plan.cluster_flag(),
        });
    }
    let not_saveable = |why: String| ClusterError::NotSaveable {
        cluster: plan.name.clone(),
        why,
        flag: plan.cluster_flag(),
    };
    let found = health::inspect(cx).await?;
    match found.condition() {
        Condition::Healthy | Condition::Paused => {}
        Condition::Absent => return Err(not_saveable("it is not running".to_string())),
        _ => return Err(not_saveable(found.problems().join("; "))),
    }
    // What the cluster's own snapshot records: the settings, port and run
    // mode the nodes were made with, which the saved one shares.
    let SnapshotState::Complete {
        fingerprint,
        fields,
        api_port,
        run_mode,
    } = snapshot::state(cx).await?
    else {
        return Err(not_saveable(
            "it has no complete snapshot of its own".to_string(),
        ));
    };
    let record = SnapshotLabels {
        node: String::new(),
        fingerprint,
        fields: Some(*fields),
        api_port,
        run_mode,
        damage: None,
    };
    let count = plan.nodes.len();
    let step = cx.ui.step(format!(
        "Saving snapshot {name:?}: {count} node{} frozen while their /var is copied",
        plural(count)
    ));
    let states = cx.node_states().await?;
    let running: Vec<String> = pause::named(&states, crate::engine::ContainerState::Running);
    let frozen = Instant::now();
    try_join_all(running.iter().map(|n| cx.engine.pause_container(n))).await?;
    let saved_at = crate::time::unix_seconds(SystemTime::now());
    let saved = named::save(cx, name, &record, saved_at).await;
    // Thawed whatever happened; those that were paused before stay so.
    let thawed = thaw(cx, &running, frozen).await;
    let bytes = saved?;
    thawed?;
    step.done();
    cx.ui.info(format!(
        "Saved snapshot {name:?} of cluster {:?} ({}, {count} node{}); it was frozen for {}. \
         `local-cluster snapshot restore {name}{}` returns to it.",
        plan.name,
        say_size(bytes),
        plural(count),
        seconds(frozen.elapsed()),
        plan.cluster_flag()
    ));
    Ok(bytes)
}

async fn thaw<E: Engine>(cx: Ctx<'_, E>, nodes: &[String], frozen: Instant) -> Result<()> {
    try_join_all(nodes.iter().map(|n| cx.engine.unpause_container(n))).await?;
    if frozen.elapsed().as_secs() >= LEASE_SAFE_SECS {
        pause::after_thaw(cx, &crate::time::rfc3339(SystemTime::now())).await?;
    }
    Ok(())
}

/// Make snapshot `name` the cluster's own, the cluster's nodes removed,
/// for `up` to restore. `wanted` is what `up` would make now: a snapshot
/// saved for other settings is refused, naming the difference, before
/// anything is touched; so is a damaged one.
pub async fn prepare_restore<E: Engine>(
    cx: Ctx<'_, E>,
    name: &str,
    wanted: &SnapshotFields,
) -> Result<Saved> {
    named::check_name(name)?;
    let plan = cx.plan;
    let all = named::list(cx).await?;
    let Some(saved) = all.iter().find(|s| s.name == name).cloned() else {
        return Err(ClusterError::NoSuchSnapshot {
            cluster: plan.name.clone(),
            name: name.to_string(),
            known: all.into_iter().map(|s| s.name).collect(),
        });
    };
    if let Some(why) = &saved.damage {
        return Err(ClusterError::SavedDamaged {
            cluster: plan.name.clone(),
            name: name.to_string(),
            why: why.clone(),
        });
    }
    let fields = saved.fields.clone().unwrap_or_default();
    if fields.fingerprint() != wanted.fingerprint() {
        return Err(ClusterError::SavedForOtherSettings {
            cluster: plan.name.clone(),
            name: name.to_string(),
            difference: fields.describe_difference(wanted),
        });
    }
    lifecycle::down(cx).await?;
    let step = cx.ui.step(format!(
        "Making snapshot {name:?} the cluster's own: its /var copied back ({})",
        say_size(saved.var_bytes)
    ));
    named::make_current(cx, &saved).await?;
    step.done();
    Ok(saved)
}

/// Remove snapshot `name`; an unknown name is an error.
pub async fn remove<E: Engine>(cx: Ctx<'_, E>, name: &str) -> Result<()> {
    named::check_name(name)?;
    let all = named::list(cx).await?;
    if !all.iter().any(|s| s.name == name) {
        return Err(ClusterError::NoSuchSnapshot {
            cluster: cx.plan.name.clone(),
            name: name.to_string(),
            known: all.into_iter().map(|s| s.name).collect(),
        });
    }
    named::remove(cx, name).await?;
    cx.ui.info(format!(
        "Removed snapshot {name:?} of cluster {:?}.",
        cx.plan.name
    ));
    Ok(())
}

/// Remove every named snapshot of the cluster; returns their names.
pub async fn remove_all<E: Engine>(cx: Ctx<'_, E>) -> Result<Vec<String>> {
    let names: Vec<String> = named::list(cx).await?.into_iter().map(|s| s.name).collect();
    for name in &names {
        named::remove(cx, name).await?;
    }
    Ok(names)
}

/// `1.2 GiB`, `830 MiB`.
pub fn say_size(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    let mib = bytes as f64 / MIB;
    if mib >= 1024.0 {
        format!("{:.1} GiB", mib / 1024.0)
    } else {
        format!("{mib:.0} MiB")
    }
}

/// A Unix time as `2026-12-07 21:04 UTC` (`unknown` for 0).
pub fn say_date(unix: i64) -> String {
    if unix <= 0 {
        return "unknown".to_string();
    }
    let rfc =
        crate::time::rfc3339(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(unix as u64));
    // 2026-12-07T21:04:05Z → 2026-12-07 21:04 UTC
    format!("{} {} UTC", &rfc[..10], &rfc[11..16])
}
