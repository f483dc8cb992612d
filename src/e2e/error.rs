//! What can go wrong getting the tests ready or running them.

use std::path::PathBuf;

use crate::artifacts::ArtifactError;
use crate::cluster::ClusterError;
use crate::engine::EngineError;
use crate::process::ProcessError;

#[derive(Debug, thiserror::Error)]
pub enum E2eError {
    #[error(
        "cluster {cluster:?} is not running; start it with `local-cluster up{flag}` and run the \
         tests again"
    )]
    NotRunning { cluster: String, flag: String },
    #[error("getting the conformance test binaries failed")]
    Binaries(#[source] ArtifactError),
    #[error("building the conformance test binaries in the source tree failed")]
    TreeBinaries(#[source] crate::source::SourceError),
    #[error("cannot tell the version of the source tree")]
    TreeVersion(#[source] crate::source::SourceError),
    #[error(
        "cluster {cluster:?} runs Kubernetes {running}, a build of a source tree, and its \
         tests are built in that tree; but the tree {} (source.k8sDir, from {setting_source}) \
         is {tree}. Point source.k8sDir (--k8s-dir) at the tree the cluster was built from, \
         or `local-cluster reup` the cluster from this one",
        dir.display()
    )]
    OtherTree {
        cluster: String,
        running: String,
        dir: PathBuf,
        setting_source: String,
        tree: String,
    },
    #[error("`e2e.test --list-images` failed")]
    ListImages(#[source] ProcessError),
    #[error("making the test images failed")]
    Images(#[source] Box<crate::images::MakeError>),
    #[error("the cluster's registry, which serves the test images pulled with PullPolicy Always")]
    Registry(#[source] Box<crate::registry::RegistryError>),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start {}", program.display())]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read ginkgo's report {}", path.display())]
    Report {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "ginkgo stopped ({status}) without writing a report; its output is in {}:\n{tail}",
        log.display()
    )]
    NoReport {
        status: std::process::ExitStatus,
        log: PathBuf,
        tail: String,
    },
    #[error(
        "ginkgo failed the run before any test ran ({status}); its output is in {}:\n{tail}",
        log.display()
    )]
    NothingRan {
        status: std::process::ExitStatus,
        log: PathBuf,
        tail: String,
    },
}

impl From<crate::images::MakeError> for E2eError {
    fn from(e: crate::images::MakeError) -> Self {
        E2eError::Images(Box::new(e))
    }
}

impl From<crate::registry::RegistryError> for E2eError {
    fn from(e: crate::registry::RegistryError) -> Self {
        E2eError::Registry(Box::new(e))
    }
}

crate::error::io_constructor!(E2eError);
