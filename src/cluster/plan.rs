//! The resolved plan of a cluster: names, addresses, versions and choices,
//! computed once from the settings. Steps act on the plan, never on settings.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use ipnet::Ipv4Net;

use crate::artifacts::CacheKey;
use crate::settings::{Addon, CniPlugin, KubeVersion, NodeRunMode, Settings};

/// Network name of the default cluster (the proposal's name).
pub const DEFAULT_NETWORK: &str = "k8s-kubeadm-local-cluster";
pub const DEFAULT_CLUSTER: &str = "default";
pub const MASTER: &str = "kube-master";

/// Label values for node containers.
pub const LABEL_NODE_ROLE: &str = "io.kubeadm-local-cluster.node-role";
pub const LABEL_FINGERPRINT: &str = "io.kubeadm-local-cluster.fingerprint";
pub const LABEL_NODE_NAME: &str = "io.kubeadm-local-cluster.node";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    ControlPlane,
    Worker,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::ControlPlane => "control-plane",
            Role::Worker => "worker",
        }
    }
}

/// One node container.
#[derive(Debug, Clone)]
pub struct NodePlan {
    /// Kubernetes node name and hostname: `kube-master`, `kube-node-1`, ...
    pub name: String,
    /// Docker container name (prefixed for clusters other than the default).
    pub container: String,
    /// Named volume kept as the node's /var.
    pub var_volume: String,
    pub ip: Ipv4Addr,
    pub role: Role,
}

/// How node containers get the rights systemd, containerd and the kubelet need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// `--privileged`: what real users' engines allow.
    Privileged,
    /// Every capability the engine can grant, seccomp/AppArmor off, all
    /// devices allowed: for engines (VMs without CAP_SYS_RESOURCE) that refuse
    /// `--privileged`.
    Capabilities,
}

impl RunMode {
    pub fn as_str(&self) -> &'static str {
        match self {
            RunMode::Privileged => "privileged",
            RunMode::Capabilities => "capabilities",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ClusterPlan {
    pub name: String,
    pub network: String,
    pub subnet: Ipv4Net,
    pub gateway: Ipv4Addr,
    /// Master first.
    pub nodes: Vec<NodePlan>,
    pub pod_subnet: Ipv4Net,
    pub service_subnet: Ipv4Net,
    pub cni: CniPlugin,
    /// Remove the control-plane taint (single node, or noDedicated).
    pub untainted_master: bool,
    pub apiserver_port: Option<u16>,
    pub kubernetes_version: KubeVersion,
    pub image_repository: String,
    pub addons: Vec<Addon>,
    pub run_mode: NodeRunMode,
    pub node_runtime: Option<String>,
    /// Where admin.conf and kubectl go.
    pub home_dir: PathBuf,
    pub verbose: u8,
}

impl ClusterPlan {
    pub fn new(settings: &Settings, kubernetes_version: KubeVersion) -> ClusterPlan {
        let name = settings.cluster_name.clone();
        let default = name == DEFAULT_CLUSTER;
        let prefix = if default {
            String::new()
        } else {
            format!("{name}-")
        };
        let base = u32::from(settings.dind_subnet.network());
        let mut nodes = vec![NodePlan {
            name: MASTER.to_string(),
            container: format!("{prefix}{MASTER}"),
            var_volume: format!("{prefix}{MASTER}-var"),
            ip: Ipv4Addr::from(base + 2),
            role: Role::ControlPlane,
        }];
        for i in 1..=settings.num_nodes {
            let node = format!("kube-node-{i}");
            nodes.push(NodePlan {
                container: format!("{prefix}{node}"),
                var_volume: format!("{prefix}{node}-var"),
                name: node,
                ip: Ipv4Addr::from(base + 2 + i),
                role: Role::Worker,
            });
        }
        ClusterPlan {
            network: if default {
                DEFAULT_NETWORK.to_string()
            } else {
                format!("{DEFAULT_NETWORK}-{name}")
            },
            name,
            subnet: settings.dind_subnet,
            gateway: Ipv4Addr::from(base + 1),
            nodes,
            pod_subnet: settings.pod_subnet,
            service_subnet: settings.service_subnet,
            cni: settings.cni_plugin,
            untainted_master: settings.num_nodes == 0 || settings.no_dedicated,
            apiserver_port: settings.apiserver_port,
            kubernetes_version,
            image_repository: settings.image_repository.clone(),
            addons: settings.addons.clone(),
            run_mode: settings.run_mode,
            node_runtime: settings.node_runtime.clone(),
            home_dir: if default {
                settings.home_dir.clone()
            } else {
                settings
                    .home_dir
                    .join("clusters")
                    .join(&settings.cluster_name)
            },
            verbose: settings.verbose,
        }
    }

    pub fn master(&self) -> &NodePlan {
        &self.nodes[0]
    }

    pub fn workers(&self) -> impl Iterator<Item = &NodePlan> {
        self.nodes.iter().skip(1)
    }

    /// kubeconfig cluster/context name.
    pub fn kube_cluster_name(&self) -> String {
        if self.name == DEFAULT_CLUSTER {
            "kubeadm-local-cluster".to_string()
        } else {
            format!("kubeadm-local-cluster-{}", self.name)
        }
    }

    pub fn admin_conf(&self) -> PathBuf {
        self.home_dir.join("admin.conf")
    }

    pub fn kubectl_path(&self) -> PathBuf {
        self.home_dir.join("kubectl")
    }

    /// Everything a snapshot depends on. A snapshot made for another
    /// fingerprint is stale; `describe` says what differs.
    pub fn fingerprint_fields(&self, node_image_id: &str) -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("kubernetesVersion", self.kubernetes_version.to_string()),
            ("nodeImage", node_image_id.to_string()),
            ("numNodes", (self.nodes.len() - 1).to_string()),
            ("dindSubnet", self.subnet.to_string()),
            ("podSubnet", self.pod_subnet.to_string()),
            ("serviceSubnet", self.service_subnet.to_string()),
            ("cniPlugin", self.cni.as_str().to_string()),
            ("untaintedMaster", self.untainted_master.to_string()),
            ("imageRepository", self.image_repository.clone()),
            ("nodeRuntime", self.node_runtime.clone().unwrap_or_default()),
            (
                "addons",
                self.addons
                    .iter()
                    .map(|a| format!("{a:?}"))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        ])
    }

    pub fn fingerprint(&self, node_image_id: &str) -> String {
        let mut key = CacheKey::new();
        for (k, v) in self.fingerprint_fields(node_image_id) {
            key = key.with(k, v);
        }
        key.hash()[..24].to_string()
    }
}
