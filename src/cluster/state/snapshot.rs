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

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::artifacts::CacheKey;
use crate::cluster::state::plan::{node_plans, ClusterPlan, RunMode};
use crate::labels::{
    LABEL_API_PORT, LABEL_CLUSTER, LABEL_FIELDS, LABEL_FINGERPRINT, LABEL_NODE_NAME, LABEL_ROLE,
    LABEL_RUN_MODE, ROLE_SNAPSHOT,
};

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
mod tests {
    use super::*;
    use crate::cluster::tests::cluster_c as plan;

    fn fields(num_nodes: u32) -> SnapshotFields {
        SnapshotFields {
            kubernetes_version: "v1.37.2".into(),
            node_image: "sha256:0123456789abcdef0123".into(),
            num_nodes,
            ..Default::default()
        }
    }

    fn image(node: &str, f: &SnapshotFields) -> SnapshotLabels {
        SnapshotLabels {
            node: node.into(),
            fingerprint: f.fingerprint(),
            fields: Some(f.clone()),
            api_port: Some(40123),
            run_mode: Some(RunMode::Capabilities),
            damage: None,
        }
    }

    #[test]
    fn differences_name_the_changed_settings() {
        let old = fields(2);
        let new = SnapshotFields {
            num_nodes: 3,
            node_image: "sha256:fedcba9876543210fedc".into(),
            ..old.clone()
        };
        let d = old.describe_difference(&new);
        assert!(d.contains("numNodes 2 → 3"), "{d}");
        assert!(d.contains("nodeImage 0123456789ab → fedcba987654"), "{d}");
        assert!(!d.contains("kubernetesVersion"), "{d}");
    }

    #[test]
    fn the_record_reads_back_as_written_and_in_the_old_string_form() {
        let f = fields(2);
        let labels = image("kube-master", &f).to_labels("c");
        let json = &labels[LABEL_FIELDS];
        assert!(json.contains(r#""numNodes":"2""#), "{json}");
        assert!(json.contains(r#""untaintedMaster":"false""#), "{json}");
        let back = SnapshotLabels::from_labels("x", &labels.into_iter().collect());
        assert_eq!(back, image("kube-master", &f));
    }

    #[test]
    fn fingerprints_are_those_of_earlier_snapshots() {
        // Computed over the same string fields in name order as before the
        // record became a type, so existing snapshots stay usable.
        let mut key = CacheKey::new();
        for (k, v) in [
            ("addons", ""),
            ("cniPlugin", ""),
            ("dindSubnet", ""),
            ("imageRepository", ""),
            ("kubernetesVersion", "v1.37.2"),
            ("nodeImage", "sha256:0123456789abcdef0123"),
            ("nodeRuntime", ""),
            ("numNodes", "2"),
            ("podSubnet", ""),
            ("serviceSubnet", ""),
            ("untaintedMaster", "false"),
        ] {
            key = key.with(k, v);
        }
        assert_eq!(fields(2).fingerprint(), key.hash()[..24]);
    }

    #[test]
    fn judgement_of_each_kind_of_snapshot() {
        let p = plan(&[("K8S_DIND_NUM_NODES", "1")]);
        let f = fields(1);
        let volumes: Vec<String> = p.nodes.iter().map(|n| n.var_volume.clone()).collect();
        let images = vec![image("kube-master", &f), image("kube-node-1", &f)];
        assert_eq!(judge(&p, &[], &[]), SnapshotState::None);
        assert_eq!(
            judge(&p, &images, &volumes),
            SnapshotState::Complete {
                fingerprint: f.fingerprint(),
                fields: Box::new(f.clone()),
                api_port: Some(40123),
                run_mode: Some(RunMode::Capabilities),
            }
        );
        assert_eq!(
            judge(&p, &images, &volumes[..1]),
            SnapshotState::Damaged("the volume c-kube-node-1-var is missing".into())
        );
        assert_eq!(
            judge(&p, &images[..1], &volumes),
            SnapshotState::Damaged(
                "the image kubeadm-local-cluster/snapshot-c:kube-node-1 is missing".into()
            )
        );
        let mixed = vec![image("kube-master", &f), image("kube-node-1", &fields(3))];
        assert_eq!(
            judge(&p, &mixed, &volumes),
            SnapshotState::Damaged("its node images were made for different settings".into())
        );
        assert_eq!(
            judge(&p, &[], &volumes),
            SnapshotState::Damaged(
                "the image kubeadm-local-cluster/snapshot-c:kube-master is missing".into()
            )
        );
        let unrecorded = vec![SnapshotLabels {
            fields: None,
            damage: None,
            ..image("kube-master", &f)
        }];
        assert!(matches!(
            judge(&p, &unrecorded, &volumes),
            SnapshotState::Damaged(why) if why.contains("do not record")
        ));
        // A snapshot of two workers, judged by its own nodes: complete, so
        // that the caller calls it stale rather than damaged.
        let two = fields(2);
        let p2 = plan(&[("K8S_DIND_NUM_NODES", "2")]);
        let images2: Vec<_> = ["kube-master", "kube-node-1", "kube-node-2"]
            .iter()
            .map(|n| image(n, &two))
            .collect();
        let volumes2: Vec<String> = p2.nodes.iter().map(|n| n.var_volume.clone()).collect();
        assert!(matches!(
            judge(&p, &images2, &volumes2),
            SnapshotState::Complete { fields, .. } if fields.num_nodes == 2
        ));
    }

    /// Labels as a damaged snapshot may have them: each kind of damage is
    /// named with the image and the label, and judged damaged.
    #[test]
    fn damaged_labels_are_named() {
        let p = plan(&[("K8S_DIND_NUM_NODES", "1")]);
        let f = fields(1);
        let volumes: Vec<String> = p.nodes.iter().map(|n| n.var_volume.clone()).collect();
        let good = image("kube-node-1", &f).to_labels("c");
        let with = |k: &str, v: Option<&str>| {
            let mut l: HashMap<String, String> = good.clone().into_iter().collect();
            match v {
                Some(v) => l.insert(k.to_string(), v.to_string()),
                None => l.remove(k),
            };
            SnapshotLabels::from_labels("snap:kube-node-1", &l)
        };
        let cases = [
            (
                with(LABEL_FIELDS, Some("{garbage")),
                "has an unreadable label io.kubeadm-local-cluster.fingerprint-fields",
            ),
            (
                with(LABEL_FIELDS, Some(r#"{"numNodes":"many"}"#)),
                "unreadable label io.kubeadm-local-cluster.fingerprint-fields (invalid digit",
            ),
            (
                with(LABEL_FIELDS, None),
                "has no label io.kubeadm-local-cluster.fingerprint-fields",
            ),
            (with(LABEL_NODE_NAME, None), "has no label"),
            (with(LABEL_FINGERPRINT, Some("")), "has no label"),
            (
                with(LABEL_FINGERPRINT, Some("0123")),
                "that is not the fingerprint of the settings it records",
            ),
            (
                with(LABEL_API_PORT, Some("http")),
                r#"label io.kubeadm-local-cluster.apiserver-port "http" that is not a port number"#,
            ),
            (with(LABEL_API_PORT, Some("70000")), "not a port number"),
            (with(LABEL_API_PORT, Some("0")), "not a port number"),
            (with(LABEL_API_PORT, Some("")), "not a port number"),
            (
                with(LABEL_RUN_MODE, Some("sideways")),
                r#"label io.kubeadm-local-cluster.run-mode "sideways" that is no run mode"#,
            ),
        ];
        for (labels, wanted) in cases {
            let why = labels.damage.clone().unwrap_or_default();
            assert!(why.starts_with("the image snap:kube-node-1 "), "{why}");
            assert!(why.contains(wanted), "{wanted:?} not in {why:?}");
            let images = vec![image("kube-master", &f), labels];
            assert_eq!(judge(&p, &images, &volumes), SnapshotState::Damaged(why));
        }
        // Long garbage is cut short in the message.
        let long = with(LABEL_FIELDS, Some(&"x".repeat(5000)));
        assert!(long.damage.unwrap().len() < 300);
        // Sound labels have no damage, nor do older snapshots' without
        // the port and run mode.
        assert_eq!(with(LABEL_API_PORT, Some("6443")).damage, None);
        let old = with(LABEL_API_PORT, None);
        assert_eq!((old.damage, old.api_port), (None, None));
        assert_eq!(with(LABEL_RUN_MODE, None).damage, None);
    }
}
