//! What can go wrong preparing the e2e images, naming the image.

use crate::images::ImageError;

#[derive(Debug, thiserror::Error)]
pub enum E2eImageError {
    /// Installing the Debian system the images are cut from.
    #[error("preparing the Debian system for the e2e test images")]
    System(#[source] ImageError),
    /// Reading the test images' files from the Kubernetes Go module.
    #[error("reading the e2e test images' files from k8s.io/kubernetes@{version}")]
    Sources {
        version: String,
        #[source]
        source: ImageError,
    },
    /// Building, assembling or pulling one image.
    #[error("making the e2e image {reference}")]
    Image {
        reference: String,
        #[source]
        source: ImageError,
    },
}

impl E2eImageError {
    pub(super) fn image(reference: &str) -> impl FnOnce(ImageError) -> Self + '_ {
        move |source| E2eImageError::Image {
            reference: reference.to_string(),
            source,
        }
    }
}
