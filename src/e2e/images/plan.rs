//! Which images of a test binary's list this tool makes, and why it leaves the
//! others out: pure, from the references alone (plus what the node image
//! already holds).
//!
//! Images are recognised by repository, not by tag, so a new Kubernetes
//! version whose manifest bumps a tag needs no change here.

use crate::engine::{reference_with_tag, split_reference};

/// Where `test/utils/image/manifest.go` puts the e2e test images.
const E2E_REGISTRY: &str = "registry.k8s.io/e2e-test-images/";
/// Where it puts etcd and pause (the same images kubeadm runs).
const GC_REGISTRY: &str = "registry.k8s.io/";

/// An image the Conformance tests run, and how this tool makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `agnhost`: the multi-purpose test server, with shell tools.
    Agnhost,
    /// `busybox`: a shell and the usual commands.
    BusyBox,
    /// `nginx`: a web server on port 80.
    Nginx,
    /// `glibc-dns-testing` (1.36+), formerly `jessie-dnsutils`: dig, getent
    /// and a shell on glibc.
    DnsUtils,
    /// `nonewprivs`: a setuid-root program printing its effective uid.
    Nonewprivs,
    /// `nautilus` and `kitten`: agnhost serving a picture and `data.json`.
    Nautilus,
    Kitten,
    /// `sample-apiserver`: the aggregated API server example.
    SampleApiserver,
    /// etcd and pause, made like the images kubeadm runs.
    Etcd,
    Pause,
}

impl Kind {
    /// The kind of an e2e image, from its repository.
    fn of(repository: &str) -> Option<Kind> {
        if let Some(name) = repository.strip_prefix(E2E_REGISTRY) {
            return Some(match name {
                "agnhost" => Kind::Agnhost,
                "busybox" => Kind::BusyBox,
                "nginx" => Kind::Nginx,
                "glibc-dns-testing" | "jessie-dnsutils" => Kind::DnsUtils,
                "nonewprivs" => Kind::Nonewprivs,
                "nautilus" => Kind::Nautilus,
                "kitten" => Kind::Kitten,
                "sample-apiserver" => Kind::SampleApiserver,
                _ => return None,
            });
        }
        match repository.strip_prefix(GC_REGISTRY)? {
            "etcd" => Some(Kind::Etcd),
            "pause" => Some(Kind::Pause),
            _ => None,
        }
    }
}

/// What happens to one reference of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Make(Kind),
    Skip(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub reference: String,
    /// The tag alone (`2.66.1`).
    pub tag: String,
    pub decision: Decision,
}

/// Decide for every reference of `wanted` (duplicates and blank lines
/// dropped, order kept). `node_images` are the references the node image
/// already holds: etcd and pause at those exact references are not made again.
pub fn plan(wanted: &[String], node_images: &[String]) -> Vec<Planned> {
    let held: Vec<String> = node_images.iter().map(|r| reference_with_tag(r)).collect();
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for reference in wanted.iter().map(|r| r.trim()).filter(|r| !r.is_empty()) {
        if !seen.insert(reference.to_string()) {
            continue;
        }
        let (repository, tag) = split_reference(reference);
        let decision = match Kind::of(repository) {
            Some(Kind::Etcd | Kind::Pause) if held.contains(&reference_with_tag(reference)) => {
                Decision::Skip("in the node image".to_string())
            }
            Some(kind) => Decision::Make(kind),
            None => Decision::Skip(skip_reason(repository).to_string()),
        };
        out.push(Planned {
            reference: reference.to_string(),
            tag: tag.to_string(),
            decision,
        });
    }
    out
}

/// Why an image no Conformance test runs is left out.
fn skip_reason(repository: &str) -> &'static str {
    let starts = |prefix: &str| repository.starts_with(prefix);
    if starts("gcr.io/k8s-authenticated-test/") {
        "in a private registry: the tests using it check pulls with credentials (not Conformance)"
    } else if starts("invalid.registry.k8s.io/") {
        "a registry that does not exist: the test using it expects the pull to fail"
    } else if starts("registry.k8s.io/sig-storage/")
        || starts("registry.k8s.io/cloud-provider-gcp/")
    {
        "a CSI driver component for storage tests (not Conformance)"
    } else if starts("registry.k8s.io/build-image/") {
        "build tooling used by node and network tests (not Conformance)"
    } else {
        "not used by Conformance tests"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> Vec<String> {
        text.lines().map(String::from).collect()
    }

    /// `e2e.test --list-images` of v1.37.2; v1.36.3 and v1.35.4 printed by
    /// the same function (`image.GetImageConfigs`) of those versions.
    const V1_37: &str = include_str!("testdata/list-images-v1.37.2.txt");
    const V1_36: &str = include_str!("testdata/list-images-v1.36.3.txt");
    const V1_35: &str = include_str!("testdata/list-images-v1.35.4.txt");

    fn made(planned: &[Planned]) -> Vec<(Kind, String)> {
        let mut out: Vec<(Kind, String)> = planned
            .iter()
            .filter_map(|p| match p.decision {
                Decision::Make(kind) => Some((kind, p.reference.clone())),
                Decision::Skip(_) => None,
            })
            .collect();
        out.sort();
        out
    }

    fn skipped<'a>(planned: &'a [Planned], reference: &str) -> &'a str {
        match &planned
            .iter()
            .find(|p| p.reference == reference)
            .unwrap_or_else(|| panic!("{reference} not planned"))
            .decision
        {
            Decision::Skip(why) => why,
            Decision::Make(kind) => panic!("{reference} is made as {kind:?}"),
        }
    }

    #[test]
    fn v1_37_makes_the_conformance_images_and_skips_the_rest() {
        let node = list("registry.k8s.io/etcd:3.7.0-0\nregistry.k8s.io/pause:3.10.2");
        let planned = plan(&list(V1_37), &node);
        assert_eq!(planned.len(), 41);
        let expected: Vec<(Kind, String)> = [
            (Kind::Agnhost, "agnhost:2.55"),
            (Kind::Agnhost, "agnhost:2.66.1"),
            // the second busybox tag comes from the CSI manifests
            (Kind::BusyBox, "busybox:1.36.1-1"),
            (Kind::BusyBox, "busybox:1.37.0-2"),
            (Kind::Nginx, "nginx:1.27.0-2"),
            (Kind::Nginx, "nginx:1.28.0-2"),
            (Kind::DnsUtils, "glibc-dns-testing:2.1.1"),
            (Kind::Nonewprivs, "nonewprivs:1.4"),
            (Kind::Nautilus, "nautilus:1.8"),
            (Kind::Kitten, "kitten:1.8"),
            (Kind::SampleApiserver, "sample-apiserver:1.29.2"),
        ]
        .into_iter()
        .map(|(k, r)| (k, format!("registry.k8s.io/e2e-test-images/{r}")))
        .collect();
        assert_eq!(made(&planned), expected);
        assert_eq!(
            skipped(&planned, "registry.k8s.io/etcd:3.7.0-0"),
            "in the node image"
        );
        assert_eq!(
            skipped(&planned, "registry.k8s.io/pause:3.10.2"),
            "in the node image"
        );
        assert!(skipped(&planned, "gcr.io/k8s-authenticated-test/agnhost:2.6").contains("private"));
        assert!(skipped(&planned, "invalid.registry.k8s.io/invalid/alpine:3.1").contains("fail"));
        assert!(
            skipped(&planned, "registry.k8s.io/sig-storage/csi-attacher:v4.12.0").contains("CSI")
        );
        assert_eq!(
            skipped(&planned, "registry.k8s.io/e2e-test-images/volume/nfs:1.6.0"),
            "not used by Conformance tests"
        );
        assert_eq!(
            skipped(&planned, "registry.k8s.io/e2e-test-images/nonroot:1.5"),
            "not used by Conformance tests"
        );
    }

    #[test]
    fn v1_36_and_v1_35_name_their_dns_image_differently() {
        let node36 = list("registry.k8s.io/etcd:3.6.8-0\nregistry.k8s.io/pause:3.10.2");
        let planned = plan(&list(V1_36), &node36);
        let kinds: Vec<Kind> = made(&planned).iter().map(|(k, _)| *k).collect();
        let has = |made: &[(Kind, String)], kind: Kind, name: &str| {
            made.contains(&(kind, format!("registry.k8s.io/e2e-test-images/{name}")))
        };
        assert!(has(
            &made(&planned),
            Kind::DnsUtils,
            "glibc-dns-testing:2.0.0"
        ));
        assert!(has(&made(&planned), Kind::Agnhost, "agnhost:2.63.0"));
        assert!(!kinds.contains(&Kind::Etcd) && !kinds.contains(&Kind::Pause));

        let node35 = list("registry.k8s.io/etcd:3.6.6-0\nregistry.k8s.io/pause:3.10.1");
        let planned = plan(&list(V1_35), &node35);
        let made35 = made(&planned);
        assert!(has(&made35, Kind::DnsUtils, "jessie-dnsutils:1.7"));
        assert!(has(&made35, Kind::Kitten, "kitten:1.7"));
        assert!(has(&made35, Kind::Nginx, "nginx:1.14-4"));
        assert_eq!(
            skipped(
                &planned,
                "registry.k8s.io/e2e-test-images/node-perf/tf-wide-deep:1.3"
            ),
            "not used by Conformance tests"
        );
        // Every Conformance kind is made for every version.
        for planned in [
            plan(&list(V1_37), &[]),
            plan(&list(V1_36), &[]),
            plan(&list(V1_35), &[]),
        ] {
            let mut kinds: Vec<Kind> = made(&planned).iter().map(|(k, _)| *k).collect();
            kinds.dedup();
            assert_eq!(
                kinds,
                [
                    Kind::Agnhost,
                    Kind::BusyBox,
                    Kind::Nginx,
                    Kind::DnsUtils,
                    Kind::Nonewprivs,
                    Kind::Nautilus,
                    Kind::Kitten,
                    Kind::SampleApiserver,
                    Kind::Etcd,
                    Kind::Pause
                ]
            );
        }
    }

    #[test]
    fn etcd_and_pause_are_made_when_the_node_image_holds_other_tags() {
        let planned = plan(
            &list("registry.k8s.io/etcd:3.6.8-0\nregistry.k8s.io/pause:3.10.2\n"),
            &list("registry.k8s.io/etcd:3.7.0-0\nregistry.k8s.io/pause:3.10.2"),
        );
        assert_eq!(planned[0].decision, Decision::Make(Kind::Etcd));
        assert_eq!(planned[0].tag, "3.6.8-0");
        assert_eq!(
            planned[1].decision,
            Decision::Skip("in the node image".into())
        );
    }

    #[test]
    fn duplicates_and_blank_lines_are_dropped() {
        let planned = plan(
            &list("registry.k8s.io/e2e-test-images/busybox:1.37.0-2\n\n  registry.k8s.io/e2e-test-images/busybox:1.37.0-2\n"),
            &[],
        );
        assert_eq!(planned.len(), 1);
        assert_eq!(planned[0].decision, Decision::Make(Kind::BusyBox));
    }
}
