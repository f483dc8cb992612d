//! Unit tests of what nodes report, what is swapped, manifests and tags.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::pods::with_image;
use super::record::{differing, parse_node_report};
use super::*;

fn binary(name: &str, sha: char) -> Binary {
    Binary {
        name: name.to_string(),
        path: PathBuf::from(format!("/b/{name}")),
        sha256: sha.to_string().repeat(64),
    }
}

#[test]
fn what_nodes_report_is_read_from_their_files_and_record() {
    let a = "a".repeat(64);
    let b = "b".repeat(64);
    let report = format!(
        "{a}  /usr/bin/kubelet\n{a}  /usr/bin/kubeadm\nkube-apiserver {b}\nkubelet {b}\ngarbage\n"
    );
    let hashes = parse_node_report(&report);
    assert_eq!(hashes["kubeadm"], a);
    // The file in /usr/bin is what runs, whatever a record says.
    assert_eq!(hashes["kubelet"], a);
    assert_eq!(hashes["kube-apiserver"], b);
    assert_eq!(hashes.len(), 3);
}

#[test]
fn a_binary_is_swapped_when_any_node_runs_something_else() {
    let new = [
        binary("kubelet", 'a'),
        binary("kube-proxy", 'b'),
        binary("kubeadm", 'c'),
    ];
    let same = |n: &str, c: char| (n.to_string(), c.to_string().repeat(64));
    let node1 = BTreeMap::from([same("kubelet", 'a'), same("kubeadm", 'c')]);
    let node2 = BTreeMap::from([same("kubelet", 'x'), same("kubeadm", 'c')]);
    let names: Vec<&str> = differing(&new, &[node1.clone(), node2])
        .iter()
        .map(|b| b.name.as_str())
        .collect();
    // kubelet differs on node2; kube-proxy was never recorded.
    assert_eq!(names, ["kubelet", "kube-proxy"]);
    assert_eq!(differing(&new[..1], &[node1]).len(), 0);
}

#[test]
fn manifests_get_the_new_image_and_nothing_else() {
    let manifest = "spec:\n  containers:\n  - command:\n    - kube-apiserver\n    image: registry.k8s.io/kube-apiserver:v1.37.2\n    imagePullPolicy: IfNotPresent\n";
    let updated = with_image(
        manifest,
        "registry.k8s.io/kube-apiserver:v1.37.2-dirty-0123456789ab",
    )
    .unwrap();
    assert_eq!(
        updated,
        manifest.replace(
            "kube-apiserver:v1.37.2\n",
            "kube-apiserver:v1.37.2-dirty-0123456789ab\n"
        )
    );
    assert_eq!(with_image("spec: {}\n", "x"), None, "no image line");
}

#[test]
fn image_tags_are_valid_and_name_the_build() {
    let b = binary("kube-apiserver", 'f');
    assert_eq!(
        image_tag("v1.38.0-alpha.0.6+84c76d1142ea4d-dirty", &b),
        "v1.38.0-alpha.0.6_84c76d1142ea4d-dirty-ffffffffffff"
    );
}
