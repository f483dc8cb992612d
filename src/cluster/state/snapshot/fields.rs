//! What a snapshot depends on ([`SnapshotFields`]): the settings it was
//! made for, as stored in its labels, their fingerprint, and how two of
//! them differ.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::artifacts::CacheKey;
use crate::cluster::state::plan::ClusterPlan;

/// kubeadm's own default (one year), in seconds.
pub const DEFAULT_CERTIFICATE_VALIDITY: u64 = 8760 * 3600;

/// Everything a snapshot depends on. Stored as JSON with every value a
/// string (numbers and booleans too), the form snapshots have always used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SnapshotFields {
    pub addons: String,
    pub cni_plugin: String,
    pub dind_subnet: String,
    pub image_repository: String,
    pub kubernetes_version: String,
    pub node_image: String,
    pub node_runtime: String,
    #[serde(with = "as_text")]
    pub num_nodes: u32,
    pub pod_subnet: String,
    pub service_subnet: String,
    #[serde(with = "as_text")]
    pub untainted_master: bool,
    /// Empty for the default (so snapshots made before the setting existed
    /// keep their fingerprint).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub certificate_validity: String,
}

/// Numbers and booleans stored as strings.
mod as_text {
    use std::fmt::Display;
    use std::str::FromStr;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<T: Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: FromStr,
        T::Err: Display,
        D: Deserializer<'de>,
    {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl SnapshotFields {
    /// Everything a snapshot of `plan`'s cluster made from the node image
    /// `node_image_id` depends on: a snapshot made for other fields is stale.
    pub fn of(plan: &ClusterPlan, node_image_id: &str) -> SnapshotFields {
        SnapshotFields {
            kubernetes_version: plan.kubernetes_version.to_string(),
            node_image: node_image_id.to_string(),
            num_nodes: plan.workers().count() as u32,
            dind_subnet: plan.subnet.to_string(),
            pod_subnet: plan.pod_subnet.to_string(),
            service_subnet: plan.service_subnet.to_string(),
            cni_plugin: plan.cni.as_str().to_string(),
            untainted_master: plan.untainted_master,
            certificate_validity: if plan.certificate_validity == DEFAULT_CERTIFICATE_VALIDITY {
                String::new()
            } else {
                crate::settings::format_duration(plan.certificate_validity)
            },
            image_repository: plan.image_repository.clone(),
            node_runtime: plan.node_runtime.clone().unwrap_or_default(),
            addons: plan
                .addons
                .iter()
                .map(|a| format!("{a:?}"))
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    /// Field name → value, in name order.
    fn entries(&self) -> BTreeMap<String, String> {
        let value = serde_json::to_value(self).expect("serializable");
        value
            .as_object()
            .expect("a struct serializes to an object")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect()
    }

    /// A short hash of every field: equal fingerprints, usable snapshot.
    pub fn fingerprint(&self) -> String {
        let mut key = CacheKey::new();
        for (k, v) in self.entries() {
            key = key.with(&k, v);
        }
        key.hash()[..24].to_string()
    }

    /// What differs from `wanted`, for people: `numNodes 2 → 3, ...`.
    pub fn describe_difference(&self, wanted: &SnapshotFields) -> String {
        let have = self.entries();
        let short = |v: &str| {
            if v.len() > 24 && v.starts_with("sha256:") {
                v[7..19].to_string()
            } else if v.is_empty() {
                "(none)".to_string()
            } else {
                v.to_string()
            }
        };
        let diffs: Vec<String> = wanted
            .entries()
            .into_iter()
            .filter(|(k, v)| have.get(k) != Some(v))
            .map(|(k, v)| {
                let old = have.get(&k).map(String::as_str).unwrap_or_default();
                format!("{k} {} → {}", short(old), short(&v))
            })
            .collect();
        if diffs.is_empty() {
            "its fingerprint differs".to_string()
        } else {
            diffs.join(", ")
        }
    }
}
