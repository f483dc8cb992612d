//! The one table of settings. Flags, `--help`, environment variables, the
//! config file's keys, validation, `local-cluster config` and the README's
//! settings table are all generated from it.

/// What values a setting takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Cidr,
    /// An integer within bounds.
    Int {
        min: u64,
        max: u64,
    },
    Bool,
    Version,
    /// One of the listed words.
    Choice(&'static [&'static str]),
    Url,
    ImageRepository,
    Path,
    Checksum,
    /// A port, or empty.
    Port,
    ClusterName,
    /// A name like an OCI runtime's, or empty.
    RuntimeName,
    Addons,
}

impl Kind {
    /// What is accepted, for errors and `--help`.
    pub fn accepted(&self) -> String {
        match self {
            Kind::Cidr => "an IPv4 CIDR such as 10.192.0.0/16".to_string(),
            Kind::Int { min, max } if *max == u64::from(u32::MAX) => {
                format!("an integer ≥ {min}")
            }
            Kind::Int { min, max } => format!("an integer from {min} to {max}"),
            Kind::Bool => "true or false (also yes/no, on/off, 1/0)".to_string(),
            Kind::Version => format!(
                "a Kubernetes version: v1.x.y, 1.x.y, 1.x (its newest patch), stable or latest; supported minors 1.{}–1.{}",
                super::SUPPORTED_MINORS.start(),
                super::SUPPORTED_MINORS.end()
            ),
            Kind::Choice(words) => match words.split_last() {
                Some((last, rest)) if !rest.is_empty() => {
                    format!("{} or {last}", rest.join(", "))
                }
                _ => words.join(""),
            },
            Kind::Url => "an http:// or https:// URL".to_string(),
            Kind::ImageRepository => {
                "an image repository: registry host[:port][/path], e.g. registry.k8s.io".to_string()
            }
            Kind::Path => "a path".to_string(),
            Kind::Checksum => "a hex sha1 (40 digits) or sha256 (64 digits)".to_string(),
            Kind::Port => "a port from 1 to 65535, or empty for a free one".to_string(),
            Kind::ClusterName => {
                "lowercase letters, digits and '-', starting with a letter, at most 40 characters"
                    .to_string()
            }
            Kind::RuntimeName => {
                "a runtime name registered with the engine (letters, digits, '.', '_', '-'), or empty for its default"
                    .to_string()
            }
            Kind::Addons => {
                "a comma-separated list of addon names (dashboard), http(s) URLs or paths to .yaml/.yml files; empty for none"
                    .to_string()
            }
        }
    }

    /// Placeholder shown in `--help`.
    pub fn value_name(&self) -> &'static str {
        match self {
            Kind::Cidr => "CIDR",
            Kind::Int { .. } => "N",
            Kind::Bool => "BOOL",
            Kind::Version => "VERSION",
            Kind::Choice(_) => "NAME",
            Kind::Url => "URL",
            Kind::ImageRepository => "REPOSITORY",
            Kind::Path => "PATH",
            Kind::Checksum => "HEX",
            Kind::Port => "PORT",
            Kind::ClusterName => "NAME",
            Kind::RuntimeName => "RUNTIME",
            Kind::Addons => "LIST",
        }
    }
}

/// One setting: config key, flag, environment variable, type, default, meaning.
#[derive(Debug, Clone, Copy)]
pub struct SettingDef {
    /// Dotted config-file key, e.g. `cluster.numNodes`.
    pub key: &'static str,
    /// Flag name without dashes, e.g. `num-nodes`.
    pub flag: &'static str,
    pub kind: Kind,
    /// Default as text; empty means unset. `@`-prefixed defaults are computed
    /// (see `Settings::default_for`) and shown with this description.
    pub default: &'static str,
    pub help: &'static str,
}

impl SettingDef {
    /// `K8S_DIND_` + the flag upper-cased, dashes as underscores.
    pub fn env(&self) -> String {
        format!("K8S_DIND_{}", self.flag.to_uppercase().replace('-', "_"))
    }

    /// The default as the README and `--help` show it.
    pub fn default_display(&self) -> &'static str {
        self.default.strip_prefix('@').unwrap_or(self.default)
    }
}

pub const KUBERNETES_SOURCES: &[&str] = &["release", "go-module"];
pub const IMAGE_SOURCES: &[&str] = &["registry", "build"];
pub const ARCHES: &[&str] = &["amd64", "arm", "arm64", "ppc64le", "s390x"];
pub const CNI_PLUGINS: &[&str] = &["bridge", "flannel", "calico", "weave"];
pub const RUN_MODES: &[&str] = &["auto", "privileged", "capabilities"];

pub const SETTINGS: &[SettingDef] = &[
    SettingDef {
        key: "dind.subnet",
        flag: "dind-subnet",
        kind: Kind::Cidr,
        default: "10.192.0.0/16",
        help: "Addresses of the node containers (a Docker network is made with this subnet)",
    },
    SettingDef {
        key: "verbose",
        flag: "v",
        kind: Kind::Int { min: 0, max: 9 },
        default: "1",
        help: "Verbosity: 0 errors only, 1 steps, 2 also kubeadm and build output, 3+ debugging (-v = 2, -vv = 3)",
    },
    SettingDef {
        key: "source.kubernetesVersion",
        flag: "kubernetes-version",
        kind: Kind::Version,
        default: super::DEFAULT_KUBERNETES_VERSION,
        help: "Kubernetes version",
    },
    SettingDef {
        key: "source.kubernetesSource",
        flag: "kubernetes-source",
        kind: Kind::Choice(KUBERNETES_SOURCES),
        default: "release",
        help: "Where Kubernetes binaries come from when not built from a source tree nor given by URL: official release downloads, or built from the Go module k8s.io/kubernetes with the local Go toolchain",
    },
    SettingDef {
        key: "source.imageSource",
        flag: "image-source",
        kind: Kind::Choice(IMAGE_SOURCES),
        default: "registry",
        help: "Where the etcd, CoreDNS and pause images come from: pulled from the image repository, or built locally (etcd and CoreDNS from their Go modules, pause from Kubernetes' C source)",
    },
    SettingDef {
        key: "source.releaseUrl",
        flag: "release-url",
        kind: Kind::Url,
        default: "https://dl.k8s.io/release",
        help: "Base URL laid out like the official release site (<url>/<version>/bin/linux/<arch>/<binary> and .sha256)",
    },
    SettingDef {
        key: "source.imageRepository",
        flag: "image-repository",
        kind: Kind::ImageRepository,
        default: "registry.k8s.io",
        help: "Image repository of the control-plane images",
    },
    SettingDef {
        key: "source.buildKubeadm",
        flag: "build-kubeadm",
        kind: Kind::Bool,
        default: "false",
        help: "Build kubeadm from the Kubernetes source tree",
    },
    SettingDef {
        key: "source.buildHyperkube",
        flag: "build-hyperkube",
        kind: Kind::Bool,
        default: "false",
        help: "Build the server binaries (kubelet, kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy) from the source tree",
    },
    SettingDef {
        key: "source.buildKubectl",
        flag: "build-kubectl",
        kind: Kind::Bool,
        default: "false",
        help: "Build kubectl from the Kubernetes source tree",
    },
    SettingDef {
        key: "source.k8sDir",
        flag: "k8s-dir",
        kind: Kind::Path,
        default: "@current directory",
        help: "Kubernetes source tree, used with any build* setting",
    },
    SettingDef {
        key: "source.kubeadmUrl",
        flag: "kubeadm-url",
        kind: Kind::Url,
        default: "",
        help: "Download kubeadm from this URL",
    },
    SettingDef {
        key: "source.kubeadmSha1",
        flag: "kubeadm-sha1",
        kind: Kind::Checksum,
        default: "",
        help: "Checksum of the kubeadm download (sha1 or sha256)",
    },
    SettingDef {
        key: "source.hyperkubeUrl",
        flag: "hyperkube-url",
        kind: Kind::Url,
        default: "",
        help: "Download the server binaries from this URL: a kubernetes-server-linux-<arch>.tar.gz, or one binary named by the URL",
    },
    SettingDef {
        key: "source.hyperkubeSha1",
        flag: "hyperkube-sha1",
        kind: Kind::Checksum,
        default: "",
        help: "Checksum of the server binaries download (sha1 or sha256)",
    },
    SettingDef {
        key: "source.kubectlUrl",
        flag: "kubectl-url",
        kind: Kind::Url,
        default: "",
        help: "Download kubectl from this URL",
    },
    SettingDef {
        key: "source.kubectlSha1",
        flag: "kubectl-sha1",
        kind: Kind::Checksum,
        default: "",
        help: "Checksum of the kubectl download (sha1 or sha256)",
    },
    SettingDef {
        key: "source.allowMissingChecksum",
        flag: "allow-missing-checksum",
        kind: Kind::Bool,
        default: "false",
        help: "Allow a *Url setting without its checksum (the download is then not verified; a warning says so)",
    },
    SettingDef {
        key: "node.arch",
        flag: "arch",
        kind: Kind::Choice(ARCHES),
        default: "@the Docker engine's",
        help: "Node architecture",
    },
    SettingDef {
        key: "node.debianMirror",
        flag: "debian-mirror",
        kind: Kind::Url,
        default: "http://deb.debian.org/debian",
        help: "Debian mirror for the node base system",
    },
    SettingDef {
        key: "node.runMode",
        flag: "run-mode",
        kind: Kind::Choice(RUN_MODES),
        default: "auto",
        help: "How node containers get their rights: privileged, or explicit capabilities for engines that refuse --privileged; auto tries privileged first",
    },
    SettingDef {
        key: "node.runtime",
        flag: "node-runtime",
        kind: Kind::RuntimeName,
        default: "@the engine's default",
        help: "OCI runtime of the node containers, as registered with the Docker engine (e.g. sysbox-runc)",
    },
    SettingDef {
        key: "cluster.name",
        flag: "cluster-name",
        kind: Kind::ClusterName,
        default: "default",
        help: "Cluster name; several clusters can share an engine (each needs its own dind.subnet). The default cluster keeps the classic names (kube-master, k8s-kubeadm-local-cluster)",
    },
    SettingDef {
        key: "cluster.numNodes",
        flag: "num-nodes",
        kind: Kind::Int { min: 0, max: u32::MAX as u64 },
        default: "2",
        help: "Worker nodes; 0 runs the master alone, without its control-plane taint",
    },
    SettingDef {
        key: "cluster.cniPlugin",
        flag: "cni-plugin",
        kind: Kind::Choice(CNI_PLUGINS),
        default: "bridge",
        help: "Pod network; bridge puts each node's pods on a local bridge and routes between nodes",
    },
    SettingDef {
        key: "cluster.noDedicated",
        flag: "no-dedicated",
        kind: Kind::Bool,
        default: "false",
        help: "Remove the control-plane taint from the master even when there are workers",
    },
    SettingDef {
        key: "cluster.apiServerPort",
        flag: "apiserver-port",
        kind: Kind::Port,
        default: "@a free port",
        help: "Host port where the API server is published",
    },
    SettingDef {
        key: "cluster.addons",
        flag: "addons",
        kind: Kind::Addons,
        default: "dashboard",
        help: "Addons to install",
    },
    SettingDef {
        key: "cluster.podSubnet",
        flag: "pod-subnet",
        kind: Kind::Cidr,
        default: "10.244.0.0/16",
        help: "Pod addresses; each node gets a /24 of it",
    },
    SettingDef {
        key: "cluster.serviceSubnet",
        flag: "service-subnet",
        kind: Kind::Cidr,
        default: "10.96.0.0/12",
        help: "Service addresses (a /12 to /28)",
    },
    SettingDef {
        key: "cacheDir",
        flag: "cache-dir",
        kind: Kind::Path,
        default: "@$XDG_CACHE_HOME/kubeadm-local-cluster",
        help: "Cache of downloads and builds",
    },
];

/// The definition with this config key (panics on a typo in our own code).
pub fn def(key: &str) -> &'static SettingDef {
    SETTINGS
        .iter()
        .find(|d| d.key == key)
        .unwrap_or_else(|| panic!("no setting {key}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_env_names_follow_the_rule() {
        let mut keys: Vec<_> = SETTINGS.iter().map(|d| d.key).collect();
        let mut flags: Vec<_> = SETTINGS.iter().map(|d| d.flag).collect();
        keys.sort();
        keys.dedup();
        flags.sort();
        flags.dedup();
        assert_eq!(keys.len(), SETTINGS.len());
        assert_eq!(flags.len(), SETTINGS.len());
        assert_eq!(def("source.buildKubeadm").env(), "K8S_DIND_BUILD_KUBEADM");
        assert_eq!(def("cluster.noDedicated").env(), "K8S_DIND_NO_DEDICATED");
        assert_eq!(def("verbose").env(), "K8S_DIND_V");
    }

    #[test]
    fn every_mission_setting_is_present() {
        for key in [
            "dind.subnet",
            "verbose",
            "source.kubernetesVersion",
            "source.buildKubeadm",
            "source.buildHyperkube",
            "source.buildKubectl",
            "source.k8sDir",
            "source.kubeadmUrl",
            "source.kubeadmSha1",
            "source.hyperkubeUrl",
            "source.hyperkubeSha1",
            "source.kubectlUrl",
            "source.kubectlSha1",
            "cluster.numNodes",
            "cluster.cniPlugin",
            "cluster.noDedicated",
            "cluster.apiServerPort",
            "cluster.addons",
        ] {
            def(key);
        }
    }
}
