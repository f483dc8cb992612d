//! Snapshots: after the first `up`, each node's root filesystem is committed
//! as an image and its /var stays in its named volume. `down` removes the
//! containers and keeps both; `up` starts new containers from them with the
//! same addresses and hostnames, so certificates and etcd stay valid.
//!
//! A snapshot records the fingerprint of the settings it was made for (and
//! the fields behind it, to say what changed). State lives only in image and
//! volume labels: nothing to go stale on disk.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use futures_util::future::try_join_all;

use super::plan::{ClusterPlan, RunMode, LABEL_FINGERPRINT, LABEL_NODE_NAME};
use crate::engine::{CommitConfig, Engine, LABEL_CLUSTER, LABEL_ROLE};

/// JSON of the fingerprint's fields, kept to explain a mismatch.
pub const LABEL_FINGERPRINT_FIELDS: &str = "io.kubeadm-local-cluster.fingerprint-fields";
/// The host port the API server was published on.
pub const LABEL_API_PORT: &str = "io.kubeadm-local-cluster.apiserver-port";
/// How the nodes ran (so a restore on the same engine need not probe again).
pub const LABEL_RUN_MODE: &str = "io.kubeadm-local-cluster.run-mode";
const ROLE_SNAPSHOT: &str = "snapshot";

pub fn image_reference(plan: &ClusterPlan, node: &str) -> String {
    format!("kubeadm-local-cluster/snapshot-{}:{node}", plan.name)
}

/// What the engine holds of a cluster's snapshot.
#[derive(Debug, Clone)]
pub enum SnapshotState {
    /// No snapshot at all.
    None,
    /// Every image and volume is there, made for `fingerprint`.
    Complete {
        fingerprint: String,
        fields: BTreeMap<String, String>,
        api_port: Option<u16>,
        run_mode: Option<RunMode>,
    },
    /// Something is missing or inconsistent; the message says what.
    Damaged(String),
}

/// Inspect the snapshot of `plan`'s cluster. Node names come from the plan
/// (a snapshot for a different node count shows up as damaged or stale).
pub async fn state(engine: &Engine, plan: &ClusterPlan) -> Result<SnapshotState> {
    let images = engine
        .list_images(&[(LABEL_CLUSTER, &plan.name), (LABEL_ROLE, ROLE_SNAPSHOT)])
        .await?;
    let volumes = engine.list_volumes(&[(LABEL_CLUSTER, &plan.name)]).await?;
    if images.is_empty() && volumes.is_empty() {
        return Ok(SnapshotState::None);
    }
    let mut fingerprints = BTreeMap::new();
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    let mut api_port = None;
    let mut run_mode = None;
    let mut nodes_in_snapshot = Vec::new();
    for (id, _) in &images {
        let Some(details) = engine.inspect_image(id).await? else {
            continue;
        };
        let node = details
            .labels
            .get(LABEL_NODE_NAME)
            .cloned()
            .unwrap_or_default();
        fingerprints.insert(
            node.clone(),
            details
                .labels
                .get(LABEL_FINGERPRINT)
                .cloned()
                .unwrap_or_default(),
        );
        if let Some(json) = details.labels.get(LABEL_FINGERPRINT_FIELDS) {
            fields = serde_json::from_str(json).unwrap_or_default();
        }
        if let Some(port) = details.labels.get(LABEL_API_PORT) {
            api_port = port.parse().ok();
        }
        run_mode = match details.labels.get(LABEL_RUN_MODE).map(String::as_str) {
            Some("privileged") => Some(RunMode::Privileged),
            Some("capabilities") => Some(RunMode::Capabilities),
            _ => run_mode,
        };
        nodes_in_snapshot.push(node);
    }
    let distinct: std::collections::BTreeSet<&String> = fingerprints.values().collect();
    if distinct.len() > 1 {
        return Ok(SnapshotState::Damaged(
            "its node images were made for different settings".to_string(),
        ));
    }
    let fingerprint = distinct.into_iter().next().cloned().unwrap_or_default();
    // A snapshot for another node count is complete in itself: judge it by
    // its own nodes, so the caller reports "stale" rather than "damaged".
    let snapshot_nodes: usize = fields
        .get("numNodes")
        .and_then(|n| n.parse::<usize>().ok())
        .map(|n| n + 1)
        .unwrap_or(plan.nodes.len());
    let expected: Vec<(String, String)> = (0..snapshot_nodes)
        .map(|i| {
            let name = if i == 0 {
                super::plan::MASTER.to_string()
            } else {
                format!("kube-node-{i}")
            };
            let volume = if plan.name == super::plan::DEFAULT_CLUSTER {
                format!("{name}-var")
            } else {
                format!("{}-{name}-var", plan.name)
            };
            (name, volume)
        })
        .collect();
    for (name, volume) in &expected {
        if !nodes_in_snapshot.contains(name) {
            return Ok(SnapshotState::Damaged(format!(
                "the image {} is missing",
                image_reference(plan, name)
            )));
        }
        if !volumes.contains(volume) {
            return Ok(SnapshotState::Damaged(format!(
                "the volume {volume} is missing"
            )));
        }
    }
    Ok(SnapshotState::Complete {
        fingerprint,
        fields,
        api_port,
        run_mode,
    })
}

/// Commit every node (they keep running) as the cluster's snapshot.
pub async fn take(
    engine: &Engine,
    plan: &ClusterPlan,
    fingerprint: &str,
    fields: &BTreeMap<&'static str, String>,
    api_port: u16,
    run_mode: RunMode,
) -> Result<()> {
    let fields_json = serde_json::to_string(fields).expect("serializable");
    try_join_all(plan.nodes.iter().map(|node| {
        let fields_json = fields_json.clone();
        async move {
            let labels = BTreeMap::from([
                (LABEL_CLUSTER.to_string(), plan.name.clone()),
                (LABEL_ROLE.to_string(), ROLE_SNAPSHOT.to_string()),
                (LABEL_NODE_NAME.to_string(), node.name.clone()),
                (LABEL_FINGERPRINT.to_string(), fingerprint.to_string()),
                (LABEL_FINGERPRINT_FIELDS.to_string(), fields_json),
                (LABEL_API_PORT.to_string(), api_port.to_string()),
                (LABEL_RUN_MODE.to_string(), run_mode.as_str().to_string()),
            ]);
            engine
                .commit_container(
                    &node.container,
                    &image_reference(plan, &node.name),
                    &CommitConfig {
                        labels,
                        ..Default::default()
                    },
                )
                .await
                .with_context(|| format!("snapshotting {}", node.name))
        }
    }))
    .await?;
    Ok(())
}

/// Delete the snapshot images (volumes go with the nodes' removal).
pub async fn remove_images(engine: &Engine, plan: &ClusterPlan) -> Result<()> {
    for (id, _) in engine
        .list_images(&[(LABEL_CLUSTER, &plan.name), (LABEL_ROLE, ROLE_SNAPSHOT)])
        .await?
    {
        engine.remove_image(&id).await?;
    }
    Ok(())
}

/// Human-readable differences between a snapshot's fields and the plan's.
pub fn describe_difference(
    snapshot: &BTreeMap<String, String>,
    wanted: &BTreeMap<&'static str, String>,
) -> String {
    let mut diffs = Vec::new();
    for (key, want) in wanted {
        let have = snapshot.get(*key).map(String::as_str).unwrap_or("(none)");
        if have != want {
            let short = |v: &str| {
                if v.len() > 24 && v.starts_with("sha256:") {
                    v[7..19].to_string()
                } else {
                    v.to_string()
                }
            };
            diffs.push(format!("{key} {} → {}", short(have), short(want)));
        }
    }
    if diffs.is_empty() {
        "its fingerprint differs".to_string()
    } else {
        diffs.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_the_changed_settings() {
        let snapshot = BTreeMap::from([
            ("numNodes".to_string(), "2".to_string()),
            ("kubernetesVersion".to_string(), "v1.37.2".to_string()),
            (
                "nodeImage".to_string(),
                "sha256:0123456789abcdef0123".to_string(),
            ),
        ]);
        let wanted = BTreeMap::from([
            ("numNodes", "3".to_string()),
            ("kubernetesVersion", "v1.37.2".to_string()),
            ("nodeImage", "sha256:fedcba9876543210fedc".to_string()),
        ]);
        let d = describe_difference(&snapshot, &wanted);
        assert!(d.contains("numNodes 2 → 3"), "{d}");
        assert!(d.contains("nodeImage 0123456789ab → fedcba987654"), "{d}");
        assert!(!d.contains("kubernetesVersion"), "{d}");
    }
}
