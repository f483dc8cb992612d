//! Why a pod network could not be prepared. (Sources are boxed: the
//! artifact and image errors are large.)

use crate::artifacts::ArtifactError;
use crate::images::ImageError;

#[derive(Debug, thiserror::Error)]
pub enum CniError {
    #[error("getting {what}")]
    Source {
        what: String,
        #[source]
        source: Box<ArtifactError>,
    },
    #[error("building {what}")]
    Build {
        what: String,
        #[source]
        source: Box<ArtifactError>,
    },
    #[error("making image {image}")]
    Image {
        image: String,
        #[source]
        source: Box<ImageError>,
    },
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
