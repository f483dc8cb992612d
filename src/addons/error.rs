//! Why an addon could not be prepared. (Sources are boxed: the artifact and
//! image errors are large.)

use crate::artifacts::ArtifactError;
use crate::images::ImageError;
use crate::manifest::EditError;

#[derive(Debug, thiserror::Error)]
pub enum AddonError {
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
    #[error("its manifest cannot be rendered")]
    Manifest(#[from] EditError),
    #[error("its manifest names other images than expected: {0}")]
    UnexpectedImages(String),
}
