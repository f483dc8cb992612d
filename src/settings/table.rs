//! The one table of settings. Flags, `--help`, environment variables, the
//! config file's keys, validation, `local-cluster config` and the README's
//! settings table are all generated from it.

use strum::VariantNames;

pub use super::key::Key;
pub use super::kind::{Computation, DefaultValue, Kind};
use super::types::{Arch, CniPlugin, ImageSourceSetting, KubernetesSourceSetting, NodeRunMode};

/// One setting: config key, flag, environment variable, type, default, meaning.
#[derive(Debug, Clone, Copy)]
pub struct SettingDef {
    /// The setting's typed name; its variant's position is this row's.
    pub id: Key,
    /// Dotted config-file key, e.g. `cluster.numNodes`.
    pub key: &'static str,
    /// Flag name without dashes, e.g. `num-nodes`.
    pub flag: &'static str,
    pub kind: Kind,
    pub default: DefaultValue,
    pub help: &'static str,
}

impl SettingDef {
    /// `K8S_DIND_` + the flag upper-cased, dashes as underscores.
    pub fn env(&self) -> String {
        format!("K8S_DIND_{}", self.flag.to_uppercase().replace('-', "_"))
    }

    /// The default as the README and `--help` show it; empty when unset.
    pub fn default_display(&self) -> &'static str {
        match self.default {
            DefaultValue::Text(text) => text,
            DefaultValue::None => "",
            DefaultValue::Computed { shown, .. } => shown,
        }
    }
}

/// The settings, one row per [`Key`] in the order of its variants.
pub static SETTINGS: &[SettingDef; Key::COUNT] = &[
    SettingDef {
        id: Key::DindSubnet,
        key: "dind.subnet",
        flag: "dind-subnet",
        kind: Kind::Cidr,
        default: DefaultValue::Text("10.192.0.0/16"),
        help: "Addresses of the node containers (a Docker network is made with this subnet)",
    },
    SettingDef {
        id: Key::Verbose,
        key: "verbose",
        flag: "v",
        kind: Kind::Int { min: 0, max: 9 },
        default: DefaultValue::Text("1"),
        help: "Verbosity: 0 errors only, 1 steps, 2 also kubeadm and build output, 3+ debugging (-v N as in kubectl; -v alone = 2, -vv = 3)",
    },
    SettingDef {
        id: Key::KubernetesVersion,
        key: "source.kubernetesVersion",
        flag: "kubernetes-version",
        kind: Kind::Version,
        default: DefaultValue::Text(super::DEFAULT_KUBERNETES_VERSION),
        help: "Kubernetes version",
    },
    SettingDef {
        id: Key::KubernetesSource,
        key: "source.kubernetesSource",
        flag: "kubernetes-source",
        kind: Kind::Choice(KubernetesSourceSetting::VARIANTS),
        default: DefaultValue::Text("auto"),
        help: "Where Kubernetes binaries come from when not built from a source tree nor given by URL: official release downloads, built from the Go module k8s.io/kubernetes with the local Go toolchain, or auto (the release site when it answers within seconds, otherwise the Go module)",
    },
    SettingDef {
        id: Key::ImageSource,
        key: "source.imageSource",
        flag: "image-source",
        kind: Kind::Choice(ImageSourceSetting::VARIANTS),
        default: DefaultValue::Text("auto"),
        help: "Where images come from (etcd, CoreDNS, pause, pod networks, addons, conformance): pulled from their registries, built locally (etcd and CoreDNS from their Go modules, pause from Kubernetes' C source, the others from their Go modules and Debian), or auto (pulled when the image's registry answers within seconds, otherwise built)",
    },
    SettingDef {
        id: Key::ReleaseUrl,
        key: "source.releaseUrl",
        flag: "release-url",
        kind: Kind::Url,
        default: DefaultValue::Text("https://dl.k8s.io/release"),
        help: "Base URL laid out like the official release site (<url>/<version>/bin/linux/<arch>/<binary> and .sha256)",
    },
    SettingDef {
        id: Key::ImageRepository,
        key: "source.imageRepository",
        flag: "image-repository",
        kind: Kind::ImageRepository,
        default: DefaultValue::Text("registry.k8s.io"),
        help: "Image repository of the control-plane images",
    },
    SettingDef {
        id: Key::BuildKubeadm,
        key: "source.buildKubeadm",
        flag: "build-kubeadm",
        kind: Kind::Bool,
        default: DefaultValue::Text("false"),
        help: "Build kubeadm from the Kubernetes source tree",
    },
    SettingDef {
        id: Key::BuildHyperkube,
        key: "source.buildHyperkube",
        flag: "build-hyperkube",
        kind: Kind::Bool,
        default: DefaultValue::Text("false"),
        help: "Build the server binaries (kubelet, kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy) from the source tree",
    },
    SettingDef {
        id: Key::BuildKubectl,
        key: "source.buildKubectl",
        flag: "build-kubectl",
        kind: Kind::Bool,
        default: DefaultValue::Text("false"),
        help: "Build kubectl from the Kubernetes source tree",
    },
    SettingDef {
        id: Key::K8sDir,
        key: "source.k8sDir",
        flag: "k8s-dir",
        kind: Kind::Path,
        default: DefaultValue::Computed {
            shown: "current directory",
            how: Computation::CurrentDir,
        },
        help: "Kubernetes source tree, used with any build* setting",
    },
    SettingDef {
        id: Key::KubeadmUrl,
        key: "source.kubeadmUrl",
        flag: "kubeadm-url",
        kind: Kind::Url,
        default: DefaultValue::None,
        help: "Download kubeadm from this URL",
    },
    SettingDef {
        id: Key::KubeadmSha1,
        key: "source.kubeadmSha1",
        flag: "kubeadm-sha1",
        kind: Kind::Checksum,
        default: DefaultValue::None,
        help: "Checksum of the kubeadm download (sha1 or sha256)",
    },
    SettingDef {
        id: Key::HyperkubeUrl,
        key: "source.hyperkubeUrl",
        flag: "hyperkube-url",
        kind: Kind::Url,
        default: DefaultValue::None,
        help: "Download the server binaries from this URL: a kubernetes-server-linux-<arch>.tar.gz, or one binary named by the URL",
    },
    SettingDef {
        id: Key::HyperkubeSha1,
        key: "source.hyperkubeSha1",
        flag: "hyperkube-sha1",
        kind: Kind::Checksum,
        default: DefaultValue::None,
        help: "Checksum of the server binaries download (sha1 or sha256)",
    },
    SettingDef {
        id: Key::KubectlUrl,
        key: "source.kubectlUrl",
        flag: "kubectl-url",
        kind: Kind::Url,
        default: DefaultValue::None,
        help: "Download kubectl from this URL",
    },
    SettingDef {
        id: Key::KubectlSha1,
        key: "source.kubectlSha1",
        flag: "kubectl-sha1",
        kind: Kind::Checksum,
        default: DefaultValue::None,
        help: "Checksum of the kubectl download (sha1 or sha256)",
    },
    SettingDef {
        id: Key::AllowMissingChecksum,
        key: "source.allowMissingChecksum",
        flag: "allow-missing-checksum",
        kind: Kind::Bool,
        default: DefaultValue::Text("false"),
        help: "Allow a *Url setting without its checksum (the download is then not verified; a warning says so)",
    },
    SettingDef {
        id: Key::Arch,
        key: "node.arch",
        flag: "arch",
        kind: Kind::Choice(Arch::VARIANTS),
        default: DefaultValue::Computed {
            shown: "the Docker engine's",
            how: Computation::Deferred,
        },
        help: "Node architecture. Another than this host's is built here too: Go programs cross-compiled, pause with a cross compiler (<triplet>-gcc), and the target's own programs (debootstrap, maintainer scripts, the image build container) run under qemu-user registered with binfmt_misc (flag F)",
    },
    SettingDef {
        id: Key::DebianMirror,
        key: "node.debianMirror",
        flag: "debian-mirror",
        kind: Kind::Url,
        default: DefaultValue::Text("http://deb.debian.org/debian"),
        help: "Debian mirror for the node base system",
    },
    SettingDef {
        id: Key::RunMode,
        key: "node.runMode",
        flag: "run-mode",
        kind: Kind::Choice(NodeRunMode::VARIANTS),
        default: DefaultValue::Text("auto"),
        help: "How node containers get their rights: privileged, or explicit capabilities for engines that refuse --privileged; auto tries privileged first",
    },
    SettingDef {
        id: Key::NodeRuntime,
        key: "node.runtime",
        flag: "node-runtime",
        kind: Kind::RuntimeName,
        default: DefaultValue::Computed {
            shown: "the engine's default",
            how: Computation::Deferred,
        },
        help: "OCI runtime of the node containers, as registered with the Docker engine (e.g. sysbox-runc)",
    },
    SettingDef {
        id: Key::SshOptions,
        key: "engine.sshOptions",
        flag: "ssh-options",
        kind: Kind::SshOptions,
        default: DefaultValue::None,
        help: "Options for the `ssh` that reaches a DOCKER_HOST=ssh://… engine, before the host (your ~/.ssh/config applies as well)",
    },
    SettingDef {
        id: Key::ClusterName,
        key: "cluster.name",
        flag: "cluster-name",
        kind: Kind::ClusterName,
        default: DefaultValue::Text("default"),
        help: "Cluster name; several clusters can share an engine (each needs its own dind.subnet). The default cluster keeps the classic names (kube-master, k8s-kubeadm-local-cluster)",
    },
    SettingDef {
        id: Key::NumNodes,
        key: "cluster.numNodes",
        flag: "num-nodes",
        kind: Kind::Int { min: 0, max: u32::MAX as u64 },
        default: DefaultValue::Text("2"),
        help: "Worker nodes; 0 runs the master alone, without its control-plane taint",
    },
    SettingDef {
        id: Key::CniPlugin,
        key: "cluster.cniPlugin",
        flag: "cni-plugin",
        kind: Kind::Choice(CniPlugin::VARIANTS),
        default: DefaultValue::Text("bridge"),
        help: "Pod network; bridge puts each node's pods on a local bridge and routes between nodes; flannel (vxlan) and kube-router (BGP routes, NetworkPolicy) install from their own manifests; none installs nothing (nodes stay NotReady until you install one)",
    },
    SettingDef {
        id: Key::NoDedicated,
        key: "cluster.noDedicated",
        flag: "no-dedicated",
        kind: Kind::Bool,
        default: DefaultValue::Text("false"),
        help: "Remove the control-plane taint from the master even when there are workers",
    },
    SettingDef {
        id: Key::ApiServerPort,
        key: "cluster.apiServerPort",
        flag: "apiserver-port",
        kind: Kind::Port,
        default: DefaultValue::Computed {
            shown: "a free port",
            how: Computation::Deferred,
        },
        help: "Host port where the API server is published",
    },
    SettingDef {
        id: Key::RegistryPort,
        key: "cluster.registryPort",
        flag: "registry-port",
        kind: Kind::Port,
        default: DefaultValue::Computed {
            shown: "the registry's current port, else 5001 or the next free port after it",
            how: Computation::Deferred,
        },
        help: "Host port (on 127.0.0.1) of the cluster's local image registry, started by `local-cluster registry`; pods name its images localhost:<port>/...",
    },
    SettingDef {
        id: Key::Addons,
        key: "cluster.addons",
        flag: "addons",
        kind: Kind::Addons,
        default: DefaultValue::Text("local-path,dashboard"),
        help: "Addons to install: names (local-path: dynamic volumes and the default StorageClass; metrics-server: kubectl top; dashboard or headlamp: the Headlamp web UI), manifest URLs or files",
    },
    SettingDef {
        id: Key::PodSubnet,
        key: "cluster.podSubnet",
        flag: "pod-subnet",
        kind: Kind::Cidr,
        default: DefaultValue::Text("10.244.0.0/16"),
        help: "Pod addresses; each node gets a /24 of it",
    },
    SettingDef {
        id: Key::ServiceSubnet,
        key: "cluster.serviceSubnet",
        flag: "service-subnet",
        kind: Kind::Cidr,
        default: DefaultValue::Text("10.96.0.0/12"),
        help: "Service addresses (a /12 to /28)",
    },
    SettingDef {
        id: Key::CertificateValidity,
        key: "cluster.certificateValidity",
        flag: "certificate-validity",
        kind: Kind::Duration {
            min: 60,
            max: 87_600 * 3600,
        },
        default: DefaultValue::Text("8760h"),
        help: "How long the certificates kubeadm and the controller manager sign last (not the CAs, which last 10 years); `up` renews them when it restores or repairs a cluster whose certificates have expired or are near it",
    },
    SettingDef {
        id: Key::CacheDir,
        key: "cacheDir",
        flag: "cache-dir",
        kind: Kind::Path,
        default: DefaultValue::Computed {
            shown: "$XDG_CACHE_HOME/kubeadm-local-cluster",
            how: Computation::CacheDir,
        },
        help: "Cache of downloads and builds",
    },
    SettingDef {
        id: Key::NoWait,
        key: "noWait",
        flag: "no-wait",
        kind: Kind::Bool,
        default: DefaultValue::Text("false"),
        help: "When another local-cluster command is changing the same cluster (up, down, clean, reup), fail at once instead of waiting for it to finish",
    },
];

// Row i is Key::ALL[i]: checked when compiling, so `Key::def` indexes the table.
const _: () = {
    let mut i = 0;
    while i < SETTINGS.len() {
        assert!(
            SETTINGS[i].id as usize == i,
            "SETTINGS rows must follow the order of Key's variants"
        );
        i += 1;
    }
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::PerKey;

    #[test]
    fn every_key_has_its_own_row_and_back() {
        assert_eq!(Key::ALL.len(), SETTINGS.len());
        assert_eq!(Key::COUNT, SETTINGS.len());
        for (i, &key) in Key::ALL.iter().enumerate() {
            assert_eq!(key as usize, i, "{key:?}");
            let d = key.def();
            assert!(std::ptr::eq(d, &SETTINGS[i]), "{key:?}");
            assert_eq!(d.id, key);
            assert_eq!(key.as_str(), d.key);
            assert_eq!(key.to_string(), d.key);
            assert_eq!(Key::from_config_key(d.key), Some(key));
        }
        assert_eq!(Key::from_config_key("cluster.numNode"), None);
        assert_eq!(Key::from_config_key("cluster"), None);
        let per_key = PerKey::from_fn(|k| k);
        assert!(per_key.iter().all(|(k, v)| per_key[k] == k && *v == k));
    }

    #[test]
    fn defaults_are_never_empty_text() {
        for d in SETTINGS {
            match d.default {
                DefaultValue::Text(text) => assert!(!text.is_empty(), "{}: use None", d.key),
                DefaultValue::None => {}
                DefaultValue::Computed { shown, .. } => assert!(!shown.is_empty(), "{}", d.key),
            }
        }
    }

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
        assert_eq!(Key::BuildKubeadm.def().env(), "K8S_DIND_BUILD_KUBEADM");
        assert_eq!(Key::NoDedicated.def().env(), "K8S_DIND_NO_DEDICATED");
        assert_eq!(Key::Verbose.def().env(), "K8S_DIND_V");
    }

    /// These names are in users' config files; renaming one breaks them.
    #[test]
    fn the_core_settings_keep_their_config_keys() {
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
            assert!(Key::from_config_key(key).is_some(), "no setting {key}");
        }
    }
}
