//! What can go wrong with a Kubernetes source tree.

use std::path::PathBuf;

use crate::artifacts::ArtifactError;
use crate::process::ProcessError;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read the version of the git checkout {}", dir.display())]
    Git {
        dir: PathBuf,
        #[source]
        source: ProcessError,
    },
    #[error("the version {text:?} of the tree {} {reason}", dir.display())]
    BadVersion {
        dir: PathBuf,
        text: String,
        reason: String,
    },
    #[error(
        "the tree {} is Kubernetes {tree} ({file} says so), but source.kubernetesVersion is \
         {configured}: set --kubernetes-version to a {tree} release",
        dir.display()
    )]
    VersionMismatch {
        dir: PathBuf,
        tree: String,
        file: String,
        configured: String,
    },
    #[error("building {} in the Kubernetes tree {} failed{}", what.join(", "), dir.display(), failing(packages))]
    Build {
        what: Vec<String>,
        dir: PathBuf,
        /// The packages the Go compiler complained about.
        packages: Vec<String>,
        #[source]
        source: Box<ProcessError>,
    },
    #[error("the build in {} finished but {} is missing", dir.display(), missing.display())]
    NotBuilt { dir: PathBuf, missing: PathBuf },
    #[error("{action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("putting a Kubernetes source tree together in {}", dir.display())]
    Assemble {
        dir: PathBuf,
        #[source]
        source: Box<ArtifactError>,
    },
    #[error("{} is not empty; give a new or empty directory for the source tree", .0.display())]
    NotEmpty(PathBuf),
    #[error(transparent)]
    Process(#[from] ProcessError),
    #[error(transparent)]
    Go(Box<ArtifactError>),
}

impl From<ArtifactError> for SourceError {
    fn from(e: ArtifactError) -> Self {
        SourceError::Go(Box::new(e))
    }
}

fn failing(packages: &[String]) -> String {
    match packages {
        [] => String::new(),
        [one] => format!(" in package {one}"),
        many => format!(" in packages {}", many.join(", ")),
    }
}

crate::error::io_constructor!(SourceError);
