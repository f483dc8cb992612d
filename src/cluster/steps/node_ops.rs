//! The operations the tool runs in node containers to look after them, by
//! name. The name travels with the command ([`ExecRequest::op`]), so the
//! fake engine answers an operation, not a script's text: rewording a
//! script changes no test that is about what a node does.

use crate::engine::{Engine, EngineError, ExecOutput, ExecRequest};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeOp {
    /// Did an `up` finish with the node, and which of its units are not
    /// active? (Prints `marked` or `unmarked`, then `UNIT STATE` lines.)
    HealthProbe,
    /// Mark the node as finished by an `up`.
    MarkFinished,
    /// Start containerd and the kubelet again (prints their states).
    RestartUnits,
    /// The host's inotify instance limit, as a node sees it.
    InotifyLimit,
    /// kube-proxy's health endpoint on the node, asked until it says it
    /// synced (exit 0), or for a while (exit 1, its last answer).
    KubeProxyHealth,
    /// The API server's /readyz on the master, asked until it is `ok`
    /// (exit 0), or for a while (exit 1, its last answer).
    ApiReady,
    /// The cluster-info ConfigMap (anonymous, as `kubeadm join` reads it),
    /// asked on the master until it is signed for the bootstrap token
    /// (exit 0), or for a while (exit 1, its last answer).
    JoinDiscovery,
    /// Has systemd finished booting and does containerd answer? (Exit 0,
    /// or a line saying what is not ready.)
    BootCheck,
    /// kubectl: the Node objects (JSON list).
    NodeList,
    /// Restart the kubelet (its containers keep running).
    RestartKubelet,
    /// A kubelet's /pods, asked from the master until it lists its pods
    /// (exit 0), or for a while (exit 1, its last answer).
    KubeletPods,
    /// kubectl: the Nodes, and kube-system's Pods and Deployments, in one
    /// JSON list (what readiness is judged from).
    ClusterObjects,
    /// kubectl: client and server versions (JSON).
    ServerVersion,
    /// The certificates a node holds and their expiry (`SECONDS PATH`
    /// lines).
    CertList,
    /// `kubeadm certs renew all` on the master, its control plane restarted.
    RenewControlPlane,
    /// A new client certificate for a node's kubelet, the kubelet restarted.
    RenewKubelet,
    /// Import uploaded image archives into containerd, for the node's own
    /// platform (exit 3 and `no-image-for-platform FILE MACHINE` when an
    /// archive holds no image for it).
    ImportImages,
}

impl NodeOp {
    pub const ALL: [NodeOp; 17] = [
        NodeOp::HealthProbe,
        NodeOp::MarkFinished,
        NodeOp::RestartUnits,
        NodeOp::InotifyLimit,
        NodeOp::KubeProxyHealth,
        NodeOp::ApiReady,
        NodeOp::JoinDiscovery,
        NodeOp::BootCheck,
        NodeOp::NodeList,
        NodeOp::RestartKubelet,
        NodeOp::KubeletPods,
        NodeOp::ClusterObjects,
        NodeOp::ServerVersion,
        NodeOp::CertList,
        NodeOp::RenewControlPlane,
        NodeOp::RenewKubelet,
        NodeOp::ImportImages,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            NodeOp::HealthProbe => "health-probe",
            NodeOp::MarkFinished => "mark-finished",
            NodeOp::RestartUnits => "restart-units",
            NodeOp::InotifyLimit => "inotify-limit",
            NodeOp::KubeProxyHealth => "kube-proxy-health",
            NodeOp::ApiReady => "api-ready",
            NodeOp::JoinDiscovery => "join-discovery",
            NodeOp::BootCheck => "boot-check",
            NodeOp::NodeList => "node-list",
            NodeOp::RestartKubelet => "restart-kubelet",
            NodeOp::KubeletPods => "kubelet-pods",
            NodeOp::ClusterObjects => "cluster-objects",
            NodeOp::ServerVersion => "server-version",
            NodeOp::CertList => "cert-list",
            NodeOp::RenewControlPlane => "renew-control-plane",
            NodeOp::RenewKubelet => "renew-kubelet",
            NodeOp::ImportImages => "import-images",
        }
    }

    pub(crate) fn request(self) -> ExecRequest<'static> {
        ExecRequest {
            op: Some(self.name()),
            ..Default::default()
        }
    }

    /// Run it as `argv` in `container`; its output, whatever its exit status.
    pub async fn exec<E: Engine>(
        self,
        engine: &E,
        container: &str,
        argv: &[&str],
    ) -> Result<ExecOutput, EngineError> {
        engine.exec(container, argv, self.request()).await
    }

    /// Run it as `argv` in `container`; a non-zero exit is an error.
    pub async fn run<E: Engine>(
        self,
        engine: &E,
        container: &str,
        argv: &[&str],
    ) -> Result<ExecOutput, EngineError> {
        engine.run_with(container, argv, self.request()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_its_own_name() {
        let names: std::collections::BTreeSet<&str> =
            NodeOp::ALL.iter().map(|o| o.name()).collect();
        assert_eq!(names.len(), NodeOp::ALL.len());
    }
}
