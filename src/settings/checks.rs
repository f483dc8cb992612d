//! Checks across settings: values that are each valid but do not go
//! together.

use std::path::Path;

use ipnet::Ipv4Net;

use super::reader::{parse_url, Reader};
use super::{Checksum, Download, Key, SettingsError};

/// A set of Kubernetes binaries: the setting that builds it from the source
/// tree, and the two that download it instead.
struct Binaries {
    build: Key,
    url: Key,
    sum: Key,
}

/// kubeadm, the server binaries and kubectl, in the order of `Settings`.
const BINARIES: [Binaries; 3] = [
    Binaries {
        build: Key::BuildKubeadm,
        url: Key::KubeadmUrl,
        sum: Key::KubeadmSha1,
    },
    Binaries {
        build: Key::BuildHyperkube,
        url: Key::HyperkubeUrl,
        sum: Key::HyperkubeSha1,
    },
    Binaries {
        build: Key::BuildKubectl,
        url: Key::KubectlUrl,
        sum: Key::KubectlSha1,
    },
];

/// Each set's download: its URL with its checksum, which only
/// `source.allowMissingChecksum` lets go missing (with a warning).
pub(super) fn downloads(
    r: &Reader<'_>,
    warnings: &mut Vec<String>,
) -> Result<[Option<Download>; 3], SettingsError> {
    let allow_missing = r.bool(Key::AllowMissingChecksum)?;
    let mut out = [None, None, None];
    for (b, download) in BINARIES.iter().zip(&mut out) {
        let (url_key, sum_key) = (b.url, b.sum);
        let url = r.optional(url_key, parse_url)?;
        let sum = r.optional(sum_key, |s| s.parse::<Checksum>())?;
        *download = match (url, sum) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(SettingsError::Conflict(format!(
                    "{sum_key} is set (from {}) but {url_key} is not; a checksum needs its download URL",
                    r.source(sum_key)
                )))
            }
            (Some(_), None) if !allow_missing => {
                return Err(SettingsError::Conflict(format!(
                    "{url_key} is set (from {}) without {sum_key}; give its sha1 or sha256 \
                     (--{}), or allow unverified downloads with --{}",
                    r.source(url_key),
                    sum_key.def().flag,
                    Key::AllowMissingChecksum.def().flag
                )))
            }
            (Some(url), None) => {
                warnings.push(format!(
                    "{url_key} {url} will not be verified: no {sum_key} given (allowed by {})",
                    Key::AllowMissingChecksum
                ));
                Some(Download { url, checksum: None })
            }
            (Some(url), Some(checksum)) => Some(Download {
                url,
                checksum: Some(checksum),
            }),
        };
    }
    Ok(out)
}

/// Which sets are built from the source tree; a set is built or
/// downloaded, not both.
pub(super) fn builds(
    r: &Reader<'_>,
    downloads: [&Option<Download>; 3],
) -> Result<[bool; 3], SettingsError> {
    let mut out = [false; 3];
    for (b, build) in BINARIES.iter().zip(&mut out) {
        *build = r.bool(b.build)?;
    }
    for ((b, build), download) in BINARIES.iter().zip(out).zip(downloads) {
        if build && download.is_some() {
            return Err(SettingsError::Conflict(format!(
                "{} (from {}) and {} (from {}) both say where the same binaries come from; choose one",
                b.build,
                r.source(b.build),
                b.url,
                r.source(b.url)
            )));
        }
    }
    Ok(out)
}

/// Is `dir` a Kubernetes source tree (its go.mod names k8s.io/kubernetes)?
pub fn is_kubernetes_tree(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("go.mod"))
        .map(|m| m.lines().any(|l| l.trim() == "module k8s.io/kubernetes"))
        .unwrap_or(false)
}

/// Building any set needs `dir` to be a Kubernetes source tree.
pub(super) fn source_tree(
    dir: &Path,
    r: &Reader<'_>,
    builds: [bool; 3],
) -> Result<(), SettingsError> {
    if is_kubernetes_tree(dir) {
        return Ok(());
    }
    let which = BINARIES
        .iter()
        .zip(builds)
        .filter(|(_, on)| *on)
        .map(|(b, _)| format!("{} (from {})", b.build, r.source(b.build)))
        .collect::<Vec<_>>()
        .join(", ");
    Err(SettingsError::Conflict(format!(
        "{which} needs a Kubernetes source tree, but {} {} (from {}) is not one \
         (no go.mod with `module k8s.io/kubernetes`); run from the tree or set --{}",
        Key::K8sDir,
        dir.display(),
        r.source(Key::K8sDir),
        Key::K8sDir.def().flag
    )))
}

/// The pod range size each node gets (kube-controller-manager's default).
const NODE_POD_PREFIX: u8 = 24;

/// The node, pod and Service ranges: room for every node, and disjoint.
pub(super) fn subnets(
    r: &Reader<'_>,
    dind: Ipv4Net,
    pods: Ipv4Net,
    services: Ipv4Net,
    num_nodes: u32,
) -> Result<(), SettingsError> {
    // network, gateway (.1), nodes from .2, broadcast.
    let needed = u64::from(num_nodes) + 1 + 3;
    let room = 1u64 << (32 - dind.prefix_len());
    if needed > room {
        let prefix = 32 - (64 - (needed - 1).leading_zeros()).min(32);
        return Err(SettingsError::Conflict(format!(
            "{} {dind} (from {}) has room for {} node(s), but {} {num_nodes} (from {}) \
             needs {} (the master and the workers); use a /{prefix} or larger subnet",
            Key::DindSubnet,
            r.source(Key::DindSubnet),
            room.saturating_sub(3),
            Key::NumNodes,
            r.source(Key::NumNodes),
            u64::from(num_nodes) + 1
        )));
    }
    // The controller manager gives each node a /24 of the pod range
    // (its default node CIDR size); a node without one never becomes Ready.
    let pod_ranges = if pods.prefix_len() > NODE_POD_PREFIX {
        0
    } else {
        1u64 << (NODE_POD_PREFIX - pods.prefix_len())
    };
    if pod_ranges < u64::from(num_nodes) + 1 {
        let prefix = NODE_POD_PREFIX
            - (64 - u64::from(num_nodes).leading_zeros()).min(u32::from(NODE_POD_PREFIX)) as u8;
        return Err(SettingsError::Conflict(format!(
            "{} {pods} (from {}) has room for {pod_ranges} node pod range(s) of /{NODE_POD_PREFIX}, \
             but {} {num_nodes} (from {}) needs {}; use a /{prefix} or larger subnet",
            Key::PodSubnet,
            r.source(Key::PodSubnet),
            Key::NumNodes,
            r.source(Key::NumNodes),
            u64::from(num_nodes) + 1
        )));
    }
    // The API server refuses Service ranges wider than /12, and kubeadm puts
    // the DNS Service at the range's tenth address.
    if !(12..=28).contains(&services.prefix_len()) {
        return Err(SettingsError::Conflict(format!(
            "{} {services} (from {}) must be a /12 to /28: the API server refuses \
             wider Service ranges and the cluster DNS Service needs the tenth address",
            Key::ServiceSubnet,
            r.source(Key::ServiceSubnet)
        )));
    }
    let nets = [
        (Key::DindSubnet, dind),
        (Key::PodSubnet, pods),
        (Key::ServiceSubnet, services),
    ];
    for (i, (ka, a)) in nets.iter().enumerate() {
        for (kb, b) in &nets[i + 1..] {
            if a.contains(&b.network()) || b.contains(&a.network()) {
                return Err(SettingsError::Conflict(format!(
                    "{ka} {a} (from {}) overlaps {kb} {b} (from {}); the node, pod and Service ranges must be disjoint",
                    r.source(*ka),
                    r.source(*kb)
                )));
            }
        }
    }
    Ok(())
}
