//! What can go wrong bringing a cluster up or down, each with what was being
//! done and, through `#[source]`, why.

use std::path::PathBuf;

use crate::engine::EngineError;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(transparent)]
    Engine(#[from] EngineError),

    #[error(
        "a Docker network named {network} exists but was not made by local-cluster for cluster \
         {cluster:?}; remove it (`docker network rm {network}`) or choose another --cluster-name"
    )]
    ForeignNetwork { network: String, cluster: String },
    #[error(
        "dind.subnet {subnet} overlaps the subnet {other_subnet} of the Docker network \
         {other:?}; choose another --dind-subnet"
    )]
    SubnetOverlap {
        subnet: String,
        other_subnet: String,
        other: String,
    },

    #[error(
        "host port {address}:{port} for the API server is taken by another program; set another \
         cluster.apiServerPort, or none to get a free one"
    )]
    ApiPortTaken {
        address: String,
        port: u16,
        #[source]
        source: EngineError,
    },
    #[error("creating node {node}")]
    CreateNode {
        node: String,
        #[source]
        source: EngineError,
    },
    #[error(
        "node {node} did not finish booting within {secs}s (last state: {last}); failed units: {failed}"
    )]
    BootTimeout {
        node: String,
        secs: u64,
        last: String,
        failed: String,
    },
    #[error(
        "node container {container} stopped ({status}) while the cluster was starting; its last output:\n{log}"
    )]
    NodeStopped {
        container: String,
        status: String,
        log: String,
    },
    #[error("container {0} disappeared")]
    Vanished(String),
    #[error("{0} publishes no port for the API server")]
    NoApiPort(String),
    #[error(
        "containerd and the kubelet of {node} do not start again, and without a snapshot for \
         these settings the node cannot be replaced alone; `local-cluster down{flag}` and `up{flag}` \
         make the cluster anew"
    )]
    UnitsDoNotStart {
        node: String,
        /// [`crate::cluster::state::plan::cluster_flag`].
        flag: String,
    },

    #[error(
        "the certificate authority {path} of {node} expired {ago} ago: kubeadm can renew the \
         certificates it signed, not the authority; `local-cluster clean{flag}` and `up{flag}` \
         make the cluster anew"
    )]
    AuthorityExpired {
        node: String,
        flag: String,
        path: String,
        ago: String,
    },
    #[error("renewing the certificates of {node}")]
    RenewCertificates {
        node: String,
        #[source]
        source: EngineError,
    },

    #[error("kubeadm init failed")]
    KubeadmInit(#[source] EngineError),
    #[error("kubeadm join of {node} failed")]
    KubeadmJoin {
        node: String,
        #[source]
        source: EngineError,
    },
    #[error("kubectl {args} failed")]
    Kubectl {
        args: String,
        #[source]
        source: EngineError,
    },
    #[error("unexpected output of kubectl {args}")]
    KubectlOutput {
        args: String,
        #[source]
        source: serde_json::Error,
    },

    #[error("the {plugin} pod network was not prepared: no manifest to install")]
    PodNetworkNotPrepared { plugin: &'static str },
    #[error(
        "nodes registered without pod ranges (spec.podCIDR); is the controller manager running?"
    )]
    NoPodRanges,
    #[error("guarding Service addresses on {node}")]
    ServiceGuard {
        node: String,
        #[source]
        source: EngineError,
    },
    #[error("setting up the pod network on {node}")]
    PodNetwork {
        node: String,
        #[source]
        source: EngineError,
    },

    #[error("the cluster was not ready after {secs}s: {last}")]
    NotReady { secs: u64, last: String },
    #[error("kube-proxy on {node} is not healthy after {secs}s: {last}")]
    KubeProxyNotHealthy {
        node: String,
        secs: u64,
        last: String,
    },

    #[error("snapshotting {node}")]
    Snapshot {
        node: String,
        #[source]
        source: EngineError,
    },
    #[error(
        "{engine_full} while saving the snapshot of {node}; the cluster runs, without a \
         snapshot: free space there, then `local-cluster down{flag}` and `local-cluster up{flag}` \
         make it again with one"
    )]
    SnapshotNoSpace {
        flag: String,
        /// [`crate::engine::ran_out_of_space`].
        engine_full: String,
        node: String,
        #[source]
        source: Box<EngineError>,
    },

    #[error("copying the volume {from} into {to}")]
    CopyVar {
        from: String,
        to: String,
        #[source]
        source: Box<EngineError>,
    },
    #[error("{0}")]
    SnapshotName(String),
    #[error(
        "cluster {cluster:?} has no snapshot named {name:?}{}",
        if known.is_empty() { String::from(" (it has none)") } else { format!(" (it has: {})", known.join(", ")) }
    )]
    NoSuchSnapshot {
        cluster: String,
        name: String,
        known: Vec<String>,
    },
    #[error(
        "cluster {cluster:?} has a snapshot named {name:?} already (saved {when}); \
         `local-cluster snapshot rm {name}{flag}` removes it, or choose another name"
    )]
    SnapshotExists {
        cluster: String,
        name: String,
        when: String,
        flag: String,
    },
    #[error("snapshot {name:?} of cluster {cluster:?} cannot be restored: {why}")]
    SavedDamaged {
        cluster: String,
        name: String,
        why: String,
    },
    #[error(
        "snapshot {name:?} was made for other settings than cluster {cluster:?} has now \
         ({difference}); bring the cluster up with the settings it was saved with to restore it"
    )]
    SavedForOtherSettings {
        cluster: String,
        name: String,
        difference: String,
    },
    #[error(
        "cluster {cluster:?} is not running well ({why}); `local-cluster up{flag}` first, then save"
    )]
    NotSaveable {
        cluster: String,
        why: String,
        flag: String,
    },

    #[error("rendering addon {addon}: {why}")]
    AddonRender { addon: String, why: String },
    #[error("preparing what the new cluster installs")]
    Preparing(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("applying addon {addon}")]
    AddonApply {
        addon: String,
        #[source]
        source: Box<ClusterError>,
    },

    #[error("image {0} is not in the Docker engine; build or pull it first")]
    ImageMissing(String),
    #[error("image {image} is neither in the Docker engine at {remote} nor in the local one; build or pull it first (or give a `docker save` archive with --archive)")]
    ImageMissingBoth { image: String, remote: String },
    #[error("{} is not a file; --archive takes a `docker save` archive", .0.display())]
    NoArchive(std::path::PathBuf),
    #[error("cluster {cluster:?} is not running; run `local-cluster up{flag}` first")]
    NotRunning { cluster: String, flag: String },
    #[error("importing images into {node}")]
    ImportImages {
        node: String,
        #[source]
        source: EngineError,
    },
    #[error(
        "{} has nothing for the architecture of {node} ({machine}): load an image built for \
         it (`docker build --platform`, `docker pull --platform`)",
        what_was_imported(archive, images)
    )]
    NoImageForPlatform {
        node: String,
        archive: std::path::PathBuf,
        /// The images the archive was saved from, when the tool saved it
        /// (`load IMAGE`); empty for an archive given as one.
        images: Vec<String>,
        /// The node's `uname -m`.
        machine: String,
    },
    #[error("listing the images in {node}")]
    ListNodeImages {
        node: String,
        #[source]
        source: EngineError,
    },
    #[error("{path} on {node} does not name exactly one image; was it edited by hand?")]
    Manifest { path: String, node: String },
    #[error("restarting {what} with the new build")]
    Restart {
        what: String,
        #[source]
        source: EngineError,
    },
    #[error("{what} did not come back with the new build within {secs}s: {last}")]
    SwapTimeout {
        what: String,
        secs: u64,
        last: String,
    },
    #[error("admin.conf of the cluster is not text")]
    AdminConfNotText(#[source] std::string::FromUtf8Error),

    #[error("{action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

crate::error::io_constructor!(ClusterError);

pub type Result<T, E = ClusterError> = std::result::Result<T, E>;

/// What an import was of, for [`ClusterError::NoImageForPlatform`].
fn what_was_imported(archive: &std::path::Path, images: &[String]) -> String {
    match images {
        [] => format!("the archive {}", archive.display()),
        [one] => format!("image {one}"),
        many => format!("one of the images {}", many.join(", ")),
    }
}
