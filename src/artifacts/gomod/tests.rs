//! Unit tests of [`super`] (the wrapper module, flags and names).

use super::build::{builds_in_one_go, is_major_suffix};
use super::module::ModFile;
use super::toolchain::{compiler_gogc, go_satisfies};
use super::*;

#[test]
fn go_version_comparison() {
    assert!(go_satisfies("1.26.0", "go1.26.8"));
    assert!(go_satisfies("1.26", "go1.26.0"));
    assert!(!go_satisfies("1.27.0", "go1.26.8"));
    assert!(go_satisfies("1.24.0", "go1.26.8"));
}

#[test]
fn cache_entries_are_named_after_the_binary_or_the_module() {
    let build = |module: &str, binaries: &[&str]| GoModuleBuild {
        module: module.into(),
        version: "v1.0.0".into(),
        binaries: binaries
            .iter()
            .map(|b| (format!("./cmd/{b}"), b.to_string()))
            .collect(),
        ldflags: String::new(),
        tags: vec![],
        arch: "amd64".into(),
        sibling_version: kubernetes_staging_version,
    };
    assert_eq!(
        build("k8s.io/kubernetes", &["agnhost"]).entry_name(),
        "agnhost"
    );
    assert_eq!(
        build("k8s.io/kubernetes", &["kubeadm", "kubelet"]).entry_name(),
        "kubernetes"
    );
    assert_eq!(
        build("github.com/onsi/ginkgo/v2", &["ginkgo", "other"]).entry_name(),
        "ginkgo"
    );
    assert!(is_major_suffix("v12") && !is_major_suffix("v") && !is_major_suffix("vx"));
}

#[test]
fn programs_named_after_their_packages_are_built_in_one_go() {
    let list = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(p, n)| (p.to_string(), n.to_string()))
            .collect()
    };
    assert!(builds_in_one_go(&list(&[
        ("k8s.io/kubernetes/cmd/kubeadm", "kubeadm"),
        ("k8s.io/kubernetes/cmd/kubelet", "kubelet"),
    ])));
    assert!(builds_in_one_go(&list(&[
        ("example.com/tool/v2", "tool"),
        ("example.com/other/cmd/x", "x"),
    ])));
    // One program: nothing to overlap.
    assert!(!builds_in_one_go(&list(&[(
        "k8s.io/kubernetes/cmd/kubeadm",
        "kubeadm"
    )])));
    // A name go would not give, or two programs go would name alike.
    assert!(!builds_in_one_go(&list(&[
        ("go.etcd.io/etcd/server/v3", "etcd"),
        ("k8s.io/kubernetes/cmd/kubelet", "kubelet"),
    ])));
    assert!(!builds_in_one_go(&list(&[
        ("a.example/cmd/tool", "tool"),
        ("b.example/cmd/tool", "tool"),
    ])));
}

#[test]
fn wrapper_replaces_local_siblings_with_published_versions() {
    let upstream: ModFile = serde_json::from_str(
        r#"{"Go":"1.26.0","GoDebug":[{"Key":"default","Value":"go1.26"}],
            "Require":[{"Path":"k8s.io/api","Version":"v0.0.0"}],
            "Replace":[{"Old":{"Path":"k8s.io/api"},"New":{"Path":"./staging/src/k8s.io/api"}},
                       {"Old":{"Path":"go.etcd.io/etcd"},"New":{"Path":"./FORBIDDEN_DEPENDENCY"}},
                       {"Old":{"Path":"example.com/x","Version":"v1.0.0"},"New":{"Path":"example.com/y","Version":"v1.2.0"}}]}"#,
    )
    .unwrap();
    let build = GoModuleBuild {
        module: "k8s.io/kubernetes".into(),
        version: "v1.37.2".into(),
        binaries: vec![],
        ldflags: String::new(),
        tags: vec![],
        arch: "amd64".into(),
        sibling_version: kubernetes_staging_version,
    };
    let text = build.wrapper_go_mod(&upstream);
    assert!(text.contains("go 1.26.0\n"));
    assert!(text.contains("godebug default=go1.26\n"));
    assert!(
        text.contains("require (\n\tk8s.io/kubernetes v1.37.2\n\tk8s.io/api v0.37.2\n)\n"),
        "{text}"
    );
    assert!(
        text.contains("\tk8s.io/api => k8s.io/api v0.37.2\n"),
        "{text}"
    );
    assert!(
        text.contains("\texample.com/x v1.0.0 => example.com/y v1.2.0\n"),
        "{text}"
    );
    assert!(!text.contains("FORBIDDEN"), "{text}");
}

#[test]
fn staging_versions() {
    assert_eq!(
        kubernetes_staging_version("k8s.io/api", "v1.37.2"),
        "v0.37.2"
    );
    assert_eq!(
        kubernetes_staging_version("k8s.io/api", "v1.38.0-alpha.1"),
        "v0.38.0-alpha.1"
    );
}

#[test]
fn the_compiler_collects_less_often_only_with_memory_to_spare_for_each_core() {
    const GIB: u64 = 1 << 30;
    // 24 GiB and 2 cores: 12 GiB for each compile at once.
    assert_eq!(compiler_gogc(None, Some(24 * GIB), 2), Some(400));
    assert_eq!(compiler_gogc(None, Some(8 * GIB), 4), Some(400));
    // A laptop with many cores and little memory for each: Go's default.
    assert_eq!(compiler_gogc(None, Some(16 * GIB), 16), None);
    assert_eq!(compiler_gogc(None, Some(16 * GIB), 0), Some(400));
    assert_eq!(compiler_gogc(None, None, 2), None);
    // The user's own setting is theirs, even "off"; an empty one is unset.
    assert_eq!(compiler_gogc(Some("100"), Some(64 * GIB), 2), None);
    assert_eq!(compiler_gogc(Some("off"), Some(64 * GIB), 2), None);
    assert_eq!(compiler_gogc(Some(""), Some(24 * GIB), 2), Some(400));
}
