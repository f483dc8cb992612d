//! Snapshots: after the first `up`, each node's root filesystem is committed
//! as an image and its /var stays in its named volume. `down` removes the
//! containers and keeps both; `up` starts new containers from them with the
//! same addresses and hostnames, so certificates and etcd stay valid.
//!
//! A snapshot records, in its image labels, the settings it was made for
//! ([`SnapshotFields`]), the API server's port and how the nodes ran
//! ([`SnapshotLabels`] writes and reads them all). State lives only in image
//! and volume labels: nothing to go stale on disk. Whether a snapshot can be
//! used is judged by [`judge`] from what the engine holds.
//!
//! Here: the snapshot's images and the judgement; `fields.rs` the
//! settings a snapshot records and their fingerprint; `labels.rs` the
//! image labels that hold them.

mod fields;
mod labels;
pub mod named;

pub use fields::SnapshotFields;
pub use labels::SnapshotLabels;

use std::collections::BTreeSet;

use crate::cluster::state::plan::{node_plans, ClusterPlan, RunMode};

pub fn image_reference(plan: &ClusterPlan, node: &str) -> String {
    format!("kubeadm-local-cluster/snapshot-{}:{node}", plan.name)
}

/// Each node's snapshot image, in plan order.
pub fn node_images(plan: &ClusterPlan) -> Vec<String> {
    plan.nodes
        .iter()
        .map(|n| image_reference(plan, &n.name))
        .collect()
}

/// What the engine holds of a cluster's snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotState {
    /// No snapshot at all.
    None,
    /// Every image and volume is there, made for `fingerprint`.
    Complete {
        fingerprint: String,
        fields: Box<SnapshotFields>,
        api_port: Option<u16>,
        run_mode: Option<RunMode>,
    },
    /// Something is missing or inconsistent; the message says what.
    Damaged(String),
}

/// Judge a snapshot of `plan`'s cluster from its images' labels and the
/// cluster's volumes. A snapshot for another node count is judged by its
/// own nodes, so that it shows up as stale rather than damaged.
pub fn judge(plan: &ClusterPlan, images: &[SnapshotLabels], volumes: &[String]) -> SnapshotState {
    if images.is_empty() && volumes.is_empty() {
        return SnapshotState::None;
    }
    if let Some(why) = images.iter().find_map(|i| i.damage.clone()) {
        return SnapshotState::Damaged(why);
    }
    let fingerprints: BTreeSet<&str> = images.iter().map(|i| i.fingerprint.as_str()).collect();
    if fingerprints.len() > 1 {
        return SnapshotState::Damaged(
            "its node images were made for different settings".to_string(),
        );
    }
    let Some(fields) = images.iter().find_map(|i| i.fields.clone()) else {
        return SnapshotState::Damaged(match images.first() {
            Some(_) => "its images do not record the settings they were made for".to_string(),
            None => format!(
                "the image {} is missing",
                image_reference(plan, &plan.master().name)
            ),
        });
    };
    for node in node_plans(&plan.name, plan.subnet, fields.num_nodes) {
        if !images.iter().any(|i| i.node == node.name) {
            return SnapshotState::Damaged(format!(
                "the image {} is missing",
                image_reference(plan, &node.name)
            ));
        }
        if !volumes.contains(&node.var_volume) {
            return SnapshotState::Damaged(format!("the volume {} is missing", node.var_volume));
        }
    }
    let first = &images[0];
    SnapshotState::Complete {
        fingerprint: first.fingerprint.clone(),
        fields: Box::new(fields),
        api_port: images.iter().find_map(|i| i.api_port),
        run_mode: images.iter().find_map(|i| i.run_mode),
    }
}

#[cfg(test)]
mod tests;
