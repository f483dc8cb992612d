//! What the engine layer takes and returns: plain data, independent of the
//! Docker API's own types, so the fake engine and the tests can build them.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;

use serde::Serialize;

/// Facts about the engine that decide how nodes are run.
#[derive(Debug, Clone, Default)]
pub struct EngineInfo {
    /// The engine's own ID (stable across restarts; names per-engine locks).
    pub id: String,
    pub server_version: String,
    pub api_version: String,
    /// Kubernetes/Go architecture name of the engine's machine (`amd64`, `arm64`, ...).
    pub arch: String,
    pub os_type: String,
    /// 1 or 2.
    pub cgroup_version: u8,
    pub cgroup_driver: String,
    pub rootless: bool,
    pub runtimes: Vec<String>,
    pub kernel_version: String,
    /// Where the engine keeps images, containers and volumes (its
    /// `DockerRootDir`, on the engine's machine); empty when not said.
    pub data_root: String,
    /// Which program answers the Docker API.
    pub product: Product,
    /// How the engine stores images.
    pub image_store: ImageStore,
}

/// The program behind the Docker API the tool talks to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Product {
    #[default]
    Docker,
    /// Podman's Docker-compatible service (`podman system service`).
    Podman,
}

impl std::fmt::Display for Product {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Product::Docker => "Docker",
            Product::Podman => "Podman",
        })
    }
}

/// How an engine stores images: in its own storage driver (Docker's
/// classic store), or in containerd's content store and a snapshotter
/// (Docker's containerd image store, the default of new installs since
/// Docker 29), where an image may be an index of several platforms of
/// which only some are present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageStore {
    /// The storage driver, e.g. `overlay2`.
    Classic { driver: String },
    /// The snapshotter, e.g. `overlayfs`.
    Containerd { snapshotter: String },
}

impl Default for ImageStore {
    fn default() -> ImageStore {
        ImageStore::Classic {
            driver: String::new(),
        }
    }
}

impl std::fmt::Display for ImageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageStore::Classic { driver } if driver.is_empty() => {
                f.write_str("classic image store")
            }
            ImageStore::Classic { driver } => write!(f, "classic image store, {driver}"),
            ImageStore::Containerd { snapshotter } => {
                write!(f, "containerd image store, {snapshotter}")
            }
        }
    }
}

/// How a container is to be created.
#[derive(Debug, Clone, Default)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub hostname: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub env: Vec<String>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub network: Option<NetworkAttachment>,
    pub privileged: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub security_opt: Vec<String>,
    pub devices: Vec<String>,
    pub device_cgroup_rules: Vec<String>,
    /// Mount point → tmpfs options.
    pub tmpfs: BTreeMap<String, String>,
    /// `volume-or-host-path:container-path[:options]`.
    pub binds: Vec<String>,
    /// A private cgroup namespace (cgroup v1 hosts need it asked for explicitly).
    pub cgroupns_private: bool,
    /// `name:address` lines for the container's /etc/hosts.
    pub extra_hosts: Vec<String>,
    pub stop_signal: Option<String>,
    pub ports: Vec<PublishedPort>,
    pub tty: bool,
    pub runtime: Option<String>,
    pub sysctls: BTreeMap<String, String>,
    /// Leave /proc and /sys paths unmasked and writable (the API's form of
    /// the CLI's `--security-opt systempaths=unconfined`).
    pub unmask_system_paths: bool,
}

/// The runtime configuration of an image: written into image archives we
/// assemble, and set on images committed from containers, so both kinds of
/// node image are described by the same value.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageConfig {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NetworkAttachment {
    pub network: String,
    pub ipv4: Option<Ipv4Addr>,
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedPort {
    pub container_port: u16,
    pub host_ip: String,
    /// 0 lets the engine choose a free port.
    pub host_port: u16,
}

/// A container's state as the engine reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerState {
    Running,
    /// Frozen by `pause`: its processes are there but get no CPU.
    Paused,
    /// Created, exited, restarting, dead: anything but running or paused.
    NotRunning,
}

/// What `list_containers` returns about each container.
#[derive(Debug, Clone)]
pub struct ContainerSummary {
    pub id: String,
    pub name: String,
    pub image: String,
    pub state: ContainerState,
    pub labels: HashMap<String, String>,
}

/// What `inspect_container` returns.
#[derive(Debug, Clone)]
pub struct ContainerDetails {
    pub id: String,
    pub name: String,
    pub image_id: String,
    pub running: bool,
    /// The engine's word for the state (`exited`, `created`...), for messages.
    pub status: String,
    pub labels: HashMap<String, String>,
    /// Published host ports by container port.
    pub host_ports: HashMap<u16, u16>,
}

#[derive(Debug, Clone)]
pub struct ImageDetails {
    pub id: String,
    pub size: i64,
    pub arch: String,
    pub labels: HashMap<String, String>,
}

/// An image and its references (`repo:tag`); untagged images have none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSummary {
    pub id: String,
    pub tags: Vec<String>,
}

impl ImageSummary {
    /// Built once but no longer named: its tag moved to a newer build.
    pub fn is_untagged(&self) -> bool {
        self.tags.iter().all(|t| t == "<none>:<none>")
    }
}

/// A network to create.
#[derive(Debug, Clone)]
pub struct NetworkSpec {
    pub name: String,
    pub subnet: String,
    pub gateway: String,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default)]
pub struct NetworkDetails {
    pub id: String,
    pub name: String,
    pub subnets: Vec<String>,
    pub labels: HashMap<String, String>,
}

/// How to remove an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveImage {
    /// Even when containers are made from it.
    Force,
    /// Refused (a conflict) while a container or another image is made from it.
    IfUnused,
}

/// Label filters for list calls: `(key, value)`, an empty value matching any.
pub type Labels<'a> = [(&'a str, &'a str)];

/// Does `labels` carry every filter?
pub fn labels_match(labels: &HashMap<String, String>, filters: &Labels<'_>) -> bool {
    filters.iter().all(|(k, v)| match labels.get(*k) {
        Some(have) => v.is_empty() || have == v,
        None => false,
    })
}

/// Split `repo[:tag]` (the repo may contain a registry port) into repo and tag.
pub fn split_reference(reference: &str) -> (&str, &str) {
    match reference.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (reference, "latest"),
    }
}

/// Docker reports `x86_64`/`aarch64`; Kubernetes and Go say `amd64`/`arm64`.
pub fn go_arch(machine: &str) -> String {
    match machine {
        "x86_64" | "amd64" => "amd64",
        "aarch64" | "arm64" => "arm64",
        "armv7l" | "armv6l" | "arm" => "arm",
        "ppc64le" => "ppc64le",
        "s390x" => "s390x",
        other => other,
    }
    .to_string()
}

/// A reference with its tag made explicit (`busybox` → `busybox:latest`),
/// as the engine names images.
pub fn reference_with_tag(reference: &str) -> String {
    let (repo, tag) = split_reference(reference);
    format!("{repo}:{tag}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_at_the_tag_not_the_registry_port() {
        assert_eq!(
            split_reference("registry.k8s.io/pause:3.10.2"),
            ("registry.k8s.io/pause", "3.10.2")
        );
        assert_eq!(
            split_reference("localhost:5000/etcd"),
            ("localhost:5000/etcd", "latest")
        );
        assert_eq!(
            split_reference("localhost:5000/etcd:3.7.0-0"),
            ("localhost:5000/etcd", "3.7.0-0")
        );
        assert_eq!(reference_with_tag("busybox"), "busybox:latest");
    }

    #[test]
    fn machine_names_map_to_go_arches() {
        assert_eq!(go_arch("x86_64"), "amd64");
        assert_eq!(go_arch("aarch64"), "arm64");
        assert_eq!(go_arch("s390x"), "s390x");
    }

    #[test]
    fn label_filters_match_keys_and_values() {
        let labels = HashMap::from([("a".to_string(), "1".to_string())]);
        assert!(labels_match(&labels, &[("a", "1")]));
        assert!(labels_match(&labels, &[("a", "")]));
        assert!(!labels_match(&labels, &[("a", "2")]));
        assert!(!labels_match(&labels, &[("b", "")]));
    }
}
