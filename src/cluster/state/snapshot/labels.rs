//! A snapshot image's labels ([`SnapshotLabels`]): written when it is
//! made, read back with every missing, unreadable or inconsistent label
//! named.

use std::collections::{BTreeMap, HashMap};

use super::fields::SnapshotFields;
use crate::cluster::state::plan::RunMode;
use crate::labels::{
    LABEL_API_PORT, LABEL_CLUSTER, LABEL_FIELDS, LABEL_FINGERPRINT, LABEL_NODE_NAME, LABEL_ROLE,
    LABEL_RUN_MODE, ROLE_SNAPSHOT,
};

/// What one snapshot image says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotLabels {
    pub node: String,
    pub fingerprint: String,
    /// None when the record is missing or unreadable.
    pub fields: Option<SnapshotFields>,
    pub api_port: Option<u16>,
    pub run_mode: Option<RunMode>,
    /// What is wrong with the labels (missing, unreadable, inconsistent),
    /// naming the image; None when they are sound.
    pub damage: Option<String>,
}

impl SnapshotLabels {
    pub fn to_labels(&self, cluster: &str) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::from([
            (LABEL_CLUSTER.to_string(), cluster.to_string()),
            (LABEL_ROLE.to_string(), ROLE_SNAPSHOT.to_string()),
            (LABEL_NODE_NAME.to_string(), self.node.clone()),
            (LABEL_FINGERPRINT.to_string(), self.fingerprint.clone()),
        ]);
        if let Some(fields) = &self.fields {
            labels.insert(
                LABEL_FIELDS.to_string(),
                serde_json::to_string(fields).expect("serializable"),
            );
        }
        if let Some(port) = self.api_port {
            labels.insert(LABEL_API_PORT.to_string(), port.to_string());
        }
        if let Some(mode) = self.run_mode {
            labels.insert(LABEL_RUN_MODE.to_string(), mode.as_str().to_string());
        }
        labels
    }

    /// Read the labels of `image` (its name, for messages). Every label a
    /// snapshot writes must be there and readable, and the fingerprint
    /// must be that of the recorded settings; the first problem is kept in
    /// `damage`.
    pub fn from_labels(image: &str, labels: &HashMap<String, String>) -> SnapshotLabels {
        let mut problems = Vec::new();
        let mut get = |k: &str| match labels.get(k) {
            Some(v) if !v.is_empty() => Some(v.clone()),
            _ => {
                problems.push(format!("has no label {k}"));
                None
            }
        };
        let node = get(LABEL_NODE_NAME).unwrap_or_default();
        let fingerprint = get(LABEL_FINGERPRINT).unwrap_or_default();
        let fields_json = get(LABEL_FIELDS);
        // Snapshots made before these were recorded lack them: that is no
        // damage (a restore then probes), an unreadable value is.
        let port_text = labels.get(LABEL_API_PORT).cloned();
        let mode_text = labels.get(LABEL_RUN_MODE).cloned();
        let fields =
            fields_json.and_then(|json| match serde_json::from_str::<SnapshotFields>(&json) {
                Ok(f) => Some(f),
                Err(e) => {
                    problems.push(format!(
                        "has an unreadable label {LABEL_FIELDS} ({e}): {}",
                        shorten(&json)
                    ));
                    None
                }
            });
        if let Some(f) = &fields {
            if !fingerprint.is_empty() && f.fingerprint() != fingerprint {
                problems.push(format!(
                    "has a label {LABEL_FINGERPRINT} {fingerprint:?} that is not the fingerprint \
                     of the settings it records ({})",
                    f.fingerprint()
                ));
            }
        }
        let api_port = port_text.and_then(|p| match p.parse::<u16>() {
            Ok(port) if port > 0 => Some(port),
            _ => {
                problems.push(format!(
                    "has a label {LABEL_API_PORT} {:?} that is not a port number",
                    shorten(&p)
                ));
                None
            }
        });
        let run_mode = mode_text.and_then(|m| {
            let mode = RunMode::from_name(&m);
            if mode.is_none() {
                problems.push(format!(
                    "has a label {LABEL_RUN_MODE} {:?} that is no run mode (known: {})",
                    shorten(&m),
                    RunMode::ALL.map(|m| m.as_str()).join(", ")
                ));
            }
            mode
        });
        SnapshotLabels {
            node,
            fingerprint,
            fields,
            api_port,
            run_mode,
            damage: problems
                .into_iter()
                .next()
                .map(|p| format!("the image {image} {p}")),
        }
    }
}

/// A label's value as messages show it: long garbage cut short.
fn shorten(text: &str) -> String {
    const MAX: usize = 60;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}
