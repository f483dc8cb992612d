//! Named snapshots (`snapshot save NAME`): the running cluster as it was
//! at one moment, kept beside the automatic snapshot until removed. Each
//! node's root filesystem is committed as an image and its /var copied into
//! a volume of its own, all saved while every node is frozen, so the copies
//! are one consistent moment of the whole cluster (as after a power cut:
//! etcd and containerd come back from that).
//!
//! Here: names, the engine objects' names and labels, and the judgement of
//! what the engine holds of each named snapshot. Like the automatic
//! snapshot, all state lives in labels.

use std::collections::{BTreeMap, HashMap};

use super::{SnapshotFields, SnapshotLabels};
use crate::cluster::state::plan::{node_plans, ClusterPlan, NodePlan, RunMode};
use crate::labels::{
    LABEL_CLUSTER, LABEL_ROLE, LABEL_SAVED_AT, LABEL_SAVED_FROM, LABEL_SNAPSHOT_NAME,
    LABEL_VAR_BYTES, ROLE_SAVED_SNAPSHOT, ROLE_SAVED_VAR,
};

/// The longest name accepted.
pub const MAX_NAME: usize = 40;

/// Is `name` a snapshot name: lowercase letters, digits and inner dashes,
/// at most [`MAX_NAME`] long? (It becomes part of image and volume names.)
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "snapshot name {name:?} is not accepted: use 1 to {MAX_NAME} lowercase letters, \
             digits and dashes, not starting or ending with a dash (e.g. before-upgrade)"
        ))
    }
}

/// The image of `node` in snapshot `name` (neither cluster nor snapshot
/// names hold dots, so the dot keeps every pair apart).
pub fn image_reference(plan: &ClusterPlan, name: &str, node: &str) -> String {
    format!("kubeadm-local-cluster/saved-{}.{name}:{node}", plan.name)
}

/// The volume holding `node`'s /var in snapshot `name`.
pub fn volume_name(node: &NodePlan, name: &str) -> String {
    format!("{}.{name}", node.var_volume)
}

/// The labels of a named snapshot's volume.
pub fn volume_labels(plan: &ClusterPlan, name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_SAVED_FROM.to_string(), plan.name.clone()),
        (LABEL_SNAPSHOT_NAME.to_string(), name.to_string()),
        (LABEL_ROLE.to_string(), ROLE_SAVED_VAR.to_string()),
    ])
}

/// What one image of a named snapshot says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedLabels {
    pub name: String,
    /// The node, settings, API port and run mode, as an automatic
    /// snapshot's image records them.
    pub snapshot: SnapshotLabels,
    /// Seconds since the Unix epoch; 0 when unreadable.
    pub saved_at: i64,
    pub var_bytes: u64,
}

impl SavedLabels {
    pub fn to_labels(&self, cluster: &str) -> BTreeMap<String, String> {
        let mut labels = self.snapshot.to_labels(cluster);
        // Empty, not absent: a commit keeps the node container's labels
        // that the new ones do not name.
        labels.insert(LABEL_CLUSTER.to_string(), String::new());
        labels.insert(LABEL_ROLE.to_string(), ROLE_SAVED_SNAPSHOT.to_string());
        labels.insert(LABEL_SAVED_FROM.to_string(), cluster.to_string());
        labels.insert(LABEL_SNAPSHOT_NAME.to_string(), self.name.clone());
        labels.insert(LABEL_SAVED_AT.to_string(), self.saved_at.to_string());
        labels.insert(LABEL_VAR_BYTES.to_string(), self.var_bytes.to_string());
        labels
    }

    pub fn from_labels(image: &str, labels: &HashMap<String, String>) -> SavedLabels {
        let text = |k: &str| labels.get(k).map(String::as_str).unwrap_or_default();
        SavedLabels {
            name: text(LABEL_SNAPSHOT_NAME).to_string(),
            snapshot: SnapshotLabels::from_labels(image, labels),
            saved_at: text(LABEL_SAVED_AT).parse().unwrap_or(0),
            var_bytes: text(LABEL_VAR_BYTES).parse().unwrap_or(0),
        }
    }
}

/// One named snapshot, as judged from what the engine holds of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub name: String,
    /// The latest of its images' times (0 when none is readable).
    pub saved_at: i64,
    /// Its nodes' /var, in bytes.
    pub var_bytes: u64,
    /// The settings it was made for, when readable.
    pub fields: Option<SnapshotFields>,
    pub api_port: Option<u16>,
    pub run_mode: Option<RunMode>,
    /// What is missing or wrong (a save interrupted, an image or volume
    /// removed by hand); None when it can be restored.
    pub damage: Option<String>,
}

/// Judge every named snapshot of `plan`'s cluster from its images' labels
/// and its volumes' names (volume name → snapshot name), by name.
pub fn judge_all(
    plan: &ClusterPlan,
    images: &[SavedLabels],
    volumes: &[(String, String)],
) -> Vec<Saved> {
    let mut names: Vec<&str> = images
        .iter()
        .map(|i| i.name.as_str())
        .chain(volumes.iter().map(|(_, n)| n.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let mine: Vec<&SavedLabels> = images.iter().filter(|i| i.name == name).collect();
            let vols: Vec<&str> = volumes
                .iter()
                .filter(|(_, n)| n == name)
                .map(|(v, _)| v.as_str())
                .collect();
            judge(plan, name, &mine, &vols)
        })
        .collect()
}

fn judge(plan: &ClusterPlan, name: &str, images: &[&SavedLabels], volumes: &[&str]) -> Saved {
    let fields = images.iter().find_map(|i| i.snapshot.fields.clone());
    let mut saved = Saved {
        name: name.to_string(),
        saved_at: images.iter().map(|i| i.saved_at).max().unwrap_or(0),
        var_bytes: images.iter().map(|i| i.var_bytes).sum(),
        fields: fields.clone(),
        api_port: images.iter().find_map(|i| i.snapshot.api_port),
        run_mode: images.iter().find_map(|i| i.snapshot.run_mode),
        damage: None,
    };
    saved.damage = (|| {
        if let Some(why) = images.iter().find_map(|i| i.snapshot.damage.clone()) {
            return Some(why);
        }
        let Some(fields) = &fields else {
            return Some(if images.is_empty() {
                "it has no images: its saving was interrupted, or they were removed".to_string()
            } else {
                "its images do not record the settings they were made for".to_string()
            });
        };
        let prints: std::collections::BTreeSet<&str> = images
            .iter()
            .map(|i| i.snapshot.fingerprint.as_str())
            .collect();
        if prints.len() > 1 {
            return Some("its node images were made for different settings".to_string());
        }
        for node in node_plans(&plan.name, plan.subnet, fields.num_nodes) {
            if !images.iter().any(|i| i.snapshot.node == node.name) {
                return Some(format!(
                    "the image {} is missing",
                    image_reference(plan, name, &node.name)
                ));
            }
            let volume = volume_name(&node, name);
            if !volumes.contains(&volume.as_str()) {
                return Some(format!("the volume {volume} is missing"));
            }
        }
        None
    })();
    saved
}

#[cfg(test)]
mod tests;
