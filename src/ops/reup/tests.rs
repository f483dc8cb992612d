//! Unit tests of what nodes report, what is swapped, manifests and tags.

use std::path::PathBuf;

use super::pods::with_image;
use super::record::{compare_all, parse_node_report, NodeReport};
use super::*;

fn binary(name: &str, sha: char) -> Binary {
    Binary {
        name: name.to_string(),
        path: PathBuf::from(format!("/b/{name}")),
        sha256: sha.to_string().repeat(64),
        code: None,
    }
}

#[test]
fn what_nodes_report_is_read_from_their_files_and_record() {
    let a = "a".repeat(64);
    let b = "b".repeat(64);
    let c = "c".repeat(64);
    let report = format!(
        "{a}  /usr/bin/kubelet\n{a}  /usr/bin/kubeadm\nkube-apiserver {b}\nkubelet {b}\n\
         kubelet {a} code-1\nkube-proxy {b} code-2\nkube-proxy {c}\ngarbage\n"
    );
    let report = parse_node_report(&report);
    assert_eq!(report.running["kubeadm"], a);
    // The file in /usr/bin is what runs, whatever a record says.
    assert_eq!(report.running["kubelet"], a);
    assert_eq!(report.running["kube-apiserver"], b);
    // For containers, the last record.
    assert_eq!(report.running["kube-proxy"], c);
    assert_eq!(report.running.len(), 4);
    assert_eq!(report.code[&("kubelet".to_string(), a.clone())], "code-1");
    assert_eq!(report.code[&("kube-proxy".to_string(), b)], "code-2");
    assert_eq!(report.code.len(), 2);
}

fn node(running: &[(&str, char)], code: &[(&str, char, &str)]) -> NodeReport {
    let sha = |c: char| c.to_string().repeat(64);
    NodeReport {
        running: running
            .iter()
            .map(|(n, c)| (n.to_string(), sha(*c)))
            .collect(),
        code: code
            .iter()
            .map(|(n, c, code)| ((n.to_string(), sha(*c)), code.to_string()))
            .collect(),
    }
}

#[test]
fn a_binary_is_swapped_when_any_node_runs_something_else() {
    let node1 = node(&[("kubelet", 'a'), ("kubeadm", 'c')], &[]);
    let node2 = node(&[("kubelet", 'x'), ("kubeadm", 'c')], &[]);
    let nodes = [node1.clone(), node2];
    // kubelet differs on node2; kube-proxy was never recorded.
    assert_eq!(
        compare_all(&binary("kubelet", 'a'), &nodes),
        Sameness::Other
    );
    assert_eq!(
        compare_all(&binary("kube-proxy", 'b'), &nodes),
        Sameness::Other
    );
    assert_eq!(compare_all(&binary("kubeadm", 'c'), &nodes), Sameness::Same);
    assert_eq!(
        compare_all(&binary("kubelet", 'a'), &[node1]),
        Sameness::Same
    );
}

#[test]
fn a_build_of_the_same_code_with_another_stamp_is_kept() {
    let with_code = |name: &str, sha: char, code: &str| Binary {
        code: Some(code.to_string()),
        ..binary(name, sha)
    };
    let swapped = node(&[("kubelet", 'a')], &[("kubelet", 'a', "k1")]);
    // The tree turned dirty: new bytes, the same code.
    assert_eq!(
        compare_all(
            &with_code("kubelet", 'd', "k1"),
            std::slice::from_ref(&swapped)
        ),
        Sameness::SameCode
    );
    // Other code.
    assert_eq!(
        compare_all(
            &with_code("kubelet", 'd', "k2"),
            std::slice::from_ref(&swapped)
        ),
        Sameness::Other
    );
    // A node whose binary nothing records (the node image's) is swapped.
    let unrecorded = node(&[("kubelet", 'a')], &[]);
    assert_eq!(
        compare_all(&with_code("kubelet", 'd', "k1"), &[swapped, unrecorded]),
        Sameness::Other
    );
    // The record names the build that ran before: no code for what runs now.
    let replaced = node(&[("kubelet", 'b')], &[("kubelet", 'a', "k1")]);
    assert_eq!(
        compare_all(&with_code("kubelet", 'd', "k1"), &[replaced]),
        Sameness::Other
    );
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
