use super::*;
use crate::cluster::tests::cluster_c as plan;

fn fields() -> SnapshotFields {
    SnapshotFields {
        kubernetes_version: "v1.37.2".into(),
        node_image: "sha256:0123456789abcdef0123".into(),
        num_nodes: 2,
        ..Default::default()
    }
}

fn saved(name: &str, node: &str, f: &SnapshotFields) -> SavedLabels {
    SavedLabels {
        name: name.into(),
        snapshot: SnapshotLabels {
            node: node.into(),
            fingerprint: f.fingerprint(),
            fields: Some(f.clone()),
            api_port: Some(40123),
            run_mode: Some(RunMode::Capabilities),
            damage: None,
        },
        saved_at: 1_800_000_000,
        var_bytes: 1000,
    }
}

fn whole(name: &str) -> (Vec<SavedLabels>, Vec<(String, String)>) {
    let p = plan(&[]);
    let images = p
        .nodes
        .iter()
        .map(|n| saved(name, &n.name, &fields()))
        .collect();
    let volumes = p
        .nodes
        .iter()
        .map(|n| (volume_name(n, name), name.to_string()))
        .collect();
    (images, volumes)
}

#[test]
fn names_are_lowercase_words_with_inner_dashes() {
    for good in ["before-upgrade", "a", "v1-37-2", &"x".repeat(MAX_NAME)] {
        assert_eq!(check_name(good), Ok(()), "{good}");
    }
    for bad in [
        "",
        "-a",
        "a-",
        "Before",
        "a.b",
        "a_b",
        "a b",
        &"x".repeat(MAX_NAME + 1),
    ] {
        let err = check_name(bad).unwrap_err();
        assert!(
            err.contains("lowercase letters, digits and dashes"),
            "{err}"
        );
    }
}

#[test]
fn images_and_volumes_are_named_apart_from_the_automatic_snapshot() {
    let p = plan(&[]);
    assert_eq!(
        image_reference(&p, "before", "kube-node-1"),
        "kubeadm-local-cluster/saved-c.before:kube-node-1"
    );
    assert_eq!(
        volume_name(&p.nodes[1], "before"),
        "c-kube-node-1-var.before"
    );
    assert_ne!(volume_name(&p.nodes[1], "before"), p.nodes[1].var_volume);
}

#[test]
fn labels_round_trip_and_leave_the_cluster_label_empty() {
    let one = saved("before", "kube-master", &fields());
    let labels = one.to_labels("c");
    assert_eq!(labels[LABEL_CLUSTER], "");
    assert_eq!(labels[LABEL_ROLE], ROLE_SAVED_SNAPSHOT);
    assert_eq!(labels[LABEL_SAVED_FROM], "c");
    let back = SavedLabels::from_labels("img", &labels.into_iter().collect());
    assert_eq!(back, one);
}

#[test]
fn a_whole_snapshot_can_be_restored_and_sums_its_sizes() {
    let (images, volumes) = whole("before");
    let all = judge_all(&plan(&[]), &images, &volumes);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].damage, None);
    assert_eq!(all[0].var_bytes, 3000);
    assert_eq!(all[0].fields, Some(fields()));
}

#[test]
fn what_an_interrupted_save_or_a_removal_leaves_is_damaged() {
    let p = plan(&[]);
    // Volumes copied, no image committed yet.
    let (_, volumes) = whole("half");
    let all = judge_all(&p, &[], &volumes);
    assert!(all[0]
        .damage
        .as_deref()
        .unwrap()
        .contains("its saving was interrupted"));
    // One image short.
    let (mut images, volumes) = whole("short");
    images.pop();
    let all = judge_all(&p, &images, &volumes);
    assert_eq!(
        all[0].damage.as_deref(),
        Some("the image kubeadm-local-cluster/saved-c.short:kube-node-2 is missing")
    );
    // A volume removed.
    let (images, mut volumes) = whole("novol");
    volumes.remove(0);
    let all = judge_all(&p, &images, &volumes);
    assert_eq!(
        all[0].damage.as_deref(),
        Some("the volume c-kube-master-var.novol is missing")
    );
    // Two snapshots are judged apart.
    let (mut a, mut va) = whole("a");
    let (b, vb) = whole("b");
    a.extend(b);
    va.extend(vb);
    let all = judge_all(&p, &a, &va);
    let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert!(all.iter().all(|s| s.damage.is_none()));
}
