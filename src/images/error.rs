//! What can go wrong making images, each with what was being done.

use std::path::PathBuf;

use crate::artifacts::ArtifactError;
use crate::engine::EngineError;
use crate::process::ProcessError;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// Getting or building what goes into an image (binaries, Go builds).
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// A host tool (debootstrap, chroot, tar, a C compiler) failed.
    #[error(transparent)]
    Process(#[from] ProcessError),
    #[error("{action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{action}")]
    Engine {
        action: String,
        #[source]
        source: EngineError,
    },
    #[error(
        "cannot get Kubernetes binaries from the release site; where it cannot be reached, \
         --kubernetes-source go-module builds Kubernetes from its Go module (as auto, the \
         default, does when the site does not answer)"
    )]
    ReleaseSite(#[source] ArtifactError),
    #[error("pulling {image} failed (set --image-source build to build it locally instead)")]
    Pull {
        image: String,
        #[source]
        source: EngineError,
    },
    /// This host cannot build the node's base system; the text says why and what to do.
    #[error("{0}")]
    HostCannotBuild(String),
    /// A disk that would hold the build has too little room; the text says
    /// which, how much, and how to move it.
    #[error("{0}")]
    NoRoom(String),
    #[error("kubeadm wants an image this tool cannot make: {reference} ({name})")]
    UnknownComponent { reference: String, name: String },
    #[error("`kubeadm config images list` printed no images")]
    NoImagesListed,
    #[error("kubeadm lists no pause image")]
    NoPauseImage,
    #[error("{reference} is missing from the node's containerd after import; it holds: {holds}")]
    NotPreloaded { reference: String, holds: String },
    #[error("no known cross compiler for pause on {0}")]
    NoCrossCompiler(String),
    #[error("the base system's packages: {0}")]
    Packages(String),
}

impl ImageError {
    pub fn engine(action: impl Into<String>) -> impl FnOnce(EngineError) -> Self {
        let action = action.into();
        move |source| ImageError::Engine { action, source }
    }
}

crate::error::io_constructor!(ImageError);

pub type Result<T, E = ImageError> = std::result::Result<T, E>;
