//! Unit tests of the record, its labels and the judgement of snapshots.

use std::collections::HashMap;

use super::*;
use crate::artifacts::CacheKey;
use crate::cluster::tests::cluster_c as plan;
use crate::labels::{
    LABEL_API_PORT, LABEL_FIELDS, LABEL_FINGERPRINT, LABEL_NODE_NAME, LABEL_RUN_MODE,
};

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
fn the_default_certificate_validity_keeps_earlier_fingerprints() {
    let mut p = plan(&[]);
    let default = SnapshotFields::of(&p, "sha256:0123");
    assert_eq!(default.certificate_validity, "");
    assert!(!serde_json::to_string(&default)
        .unwrap()
        .contains("certificateValidity"));
    p.certificate_validity = 300;
    let short = SnapshotFields::of(&p, "sha256:0123");
    assert_ne!(short.fingerprint(), default.fingerprint());
    let d = default.describe_difference(&short);
    assert!(d.contains("certificateValidity (none) → 5m"), "{d}");
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
