//! Why a pod network could not be prepared.

use crate::images::MakeError;

#[derive(Debug, thiserror::Error)]
pub enum CniError {
    /// Its source, a build or an image could not be had.
    #[error(transparent)]
    Make(#[from] MakeError),
    #[error("the manifest cannot be rendered for this cluster: {0}")]
    Manifest(String),
    #[error("the manifest names image {image}, which cannot be built here ({why}); use --image-source registry on an engine that can pull it")]
    CannotBuild { image: String, why: String },
    #[error("the {plugin} pod network's images ({images}) cannot be built here: {why}; use --image-source registry on an engine that can pull them")]
    NotBuildable {
        plugin: &'static str,
        images: String,
        why: &'static str,
    },
    #[error("the {plugin} pod network needs images this engine could not pull: {missing}")]
    ImagesUnavailable {
        plugin: &'static str,
        missing: String,
    },
    #[error("reading {path}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}
