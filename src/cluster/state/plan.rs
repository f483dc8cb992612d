//! The resolved plan of a cluster: names, addresses, versions and choices,
//! computed once from the settings. Steps act on the plan, never on settings.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use ipnet::Ipv4Net;

use crate::settings::{Addon, CniPlugin, KubeVersion, NodeRunMode, Settings};

/// Network name of the default cluster (kubeadm-dind-cluster's name, kept).
pub const DEFAULT_NETWORK: &str = "k8s-kubeadm-local-cluster";
pub const DEFAULT_CLUSTER: &str = "default";
pub const MASTER: &str = "kube-master";

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
    pub(super) const ALL: [RunMode; 2] = [RunMode::Privileged, RunMode::Capabilities];

    pub fn as_str(&self) -> &'static str {
        match self {
            RunMode::Privileged => "privileged",
            RunMode::Capabilities => "capabilities",
        }
    }

    pub fn from_name(name: &str) -> Option<RunMode> {
        RunMode::ALL.into_iter().find(|m| m.as_str() == name)
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
    /// How long the certificates kubeadm and the controller manager sign
    /// last, in seconds.
    pub certificate_validity: u64,
    pub kubernetes_version: KubeVersion,
    pub image_repository: String,
    pub addons: Vec<Addon>,
    pub run_mode: NodeRunMode,
    pub node_runtime: Option<String>,
    /// Where admin.conf and kubectl go.
    pub home_dir: PathBuf,
}

/// The nodes of cluster `cluster` with `workers` workers, master first, at
/// fixed addresses from the start of `subnet` (its gateway is `.1`).
pub fn node_plans(cluster: &str, subnet: Ipv4Net, workers: u32) -> Vec<NodePlan> {
    let prefix = if cluster == DEFAULT_CLUSTER {
        String::new()
    } else {
        format!("{cluster}-")
    };
    let base = u32::from(subnet.network());
    (0..=workers)
        .map(|i| {
            let (name, role) = if i == 0 {
                (MASTER.to_string(), Role::ControlPlane)
            } else {
                (format!("kube-node-{i}"), Role::Worker)
            };
            NodePlan {
                container: format!("{prefix}{name}"),
                var_volume: format!("{prefix}{name}-var"),
                ip: Ipv4Addr::from(base + 2 + i),
                name,
                role,
            }
        })
        .collect()
}

/// ` --cluster-name NAME` for commands to suggest, unless it is the default.
pub fn cluster_flag(name: &str) -> String {
    if name == DEFAULT_CLUSTER {
        String::new()
    } else {
        format!(" --cluster-name {name}")
    }
}

impl ClusterPlan {
    pub fn new(settings: &Settings, kubernetes_version: KubeVersion) -> ClusterPlan {
        let name = settings.cluster_name.clone();
        let default = name == DEFAULT_CLUSTER;
        let nodes = node_plans(&name, settings.dind_subnet, settings.num_nodes);
        ClusterPlan {
            network: if default {
                DEFAULT_NETWORK.to_string()
            } else {
                format!("{DEFAULT_NETWORK}-{name}")
            },
            name,
            subnet: settings.dind_subnet,
            gateway: Ipv4Addr::from(u32::from(settings.dind_subnet.network()) + 1),
            nodes,
            pod_subnet: settings.pod_subnet,
            service_subnet: settings.service_subnet,
            cni: settings.cni_plugin,
            untainted_master: settings.num_nodes == 0 || settings.no_dedicated,
            apiserver_port: settings.apiserver_port,
            certificate_validity: settings.certificate_validity,
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
        }
    }

    pub fn master(&self) -> &NodePlan {
        &self.nodes[0]
    }

    /// The node named `name` (a name from this plan's own nodes).
    pub fn node(&self, name: &str) -> Result<&NodePlan, crate::cluster::ClusterError> {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .ok_or_else(|| crate::cluster::ClusterError::Vanished(name.to_string()))
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

    /// ` --cluster-name NAME` for commands to suggest, unless it is the default.
    pub fn cluster_flag(&self) -> String {
        cluster_flag(&self.name)
    }

    pub fn admin_conf(&self) -> PathBuf {
        self.home_dir.join("admin.conf")
    }

    pub fn kubectl_path(&self) -> PathBuf {
        self.home_dir.join("kubectl")
    }
}
