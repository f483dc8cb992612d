//! What can go wrong with a cluster's registry, each naming what failed and,
//! through `#[source]`, why.

use std::path::PathBuf;

use crate::artifacts::ArtifactError;
use crate::cluster::ClusterError;
use crate::engine::EngineError;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Cluster(Box<ClusterError>),

    #[error(
        "cluster {cluster:?} has no local registry; start one with `local-cluster registry{flag}`"
    )]
    NoRegistry { cluster: String, flag: String },
    #[error(
        "the registry's address {ip} (the last of dind.subnet {subnet}) is taken by a node; \
         choose a larger --dind-subnet or fewer nodes"
    )]
    NoAddress { ip: String, subnet: String },
    #[error(
        "host port 127.0.0.1:{port} for the registry is taken by another program (or another \
         cluster's registry); set another cluster.registryPort (--registry-port)"
    )]
    PortTaken {
        port: u16,
        #[source]
        source: EngineError,
    },
    #[error("starting the registry container {container}")]
    Start {
        container: String,
        #[source]
        source: EngineError,
    },

    #[error("building the registry image")]
    Build(#[source] ArtifactError),
    #[error("assembling the registry image {reference} in {}", dir.display())]
    Assemble {
        reference: String,
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("loading the registry image {reference} into the Docker engine")]
    Load {
        reference: String,
        #[source]
        source: EngineError,
    },
    #[error(
        "pulling the registry image {reference}; without access to Docker Hub, use \
         --image-source build to build it from its Go module"
    )]
    Pull {
        reference: String,
        #[source]
        source: EngineError,
    },

    #[error("configuring containerd on node {node} for the registry")]
    ConfigureNode {
        node: String,
        #[source]
        source: EngineError,
    },
    #[error("publishing the registry's address in the cluster (ConfigMap kube-public/local-registry-hosting)")]
    Publish(#[source] Box<ClusterError>),
    #[error("reading the registry's list of mirrored registries from {container}")]
    ReadMirrors {
        container: String,
        #[source]
        source: EngineError,
    },
    #[error("recording the mirrored registries in {container}")]
    WriteMirrors {
        container: String,
        #[source]
        source: EngineError,
    },
    #[error("{upstream:?} is not a registry host name (like registry.k8s.io or docker.io)")]
    BadUpstream { upstream: String },

    #[error("image {0} is not in the Docker engine; build or pull it first")]
    ImageMissing(String),
    #[error("{reference:?} is not an image reference (like name:tag or host/path/name:tag)")]
    BadReference { reference: String },
    #[error("pushing {image} to the registry as {target}")]
    Push {
        image: String,
        target: String,
        #[source]
        source: Box<EngineError>,
    },
    #[error("reading the image archive {}", path.display())]
    Archive {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the image archive {} holds no image named {reference} (it holds: {held})", path.display())]
    NotInArchive {
        path: PathBuf,
        reference: String,
        held: String,
    },
    #[error("loading the image archive {} into the Docker engine", path.display())]
    LoadArchive {
        path: PathBuf,
        #[source]
        source: EngineError,
    },
}

impl From<ClusterError> for RegistryError {
    fn from(e: ClusterError) -> Self {
        RegistryError::Cluster(Box::new(e))
    }
}

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;
