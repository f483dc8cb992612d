//! Why an addon could not be prepared.

use crate::images::MakeError;
use crate::manifest::EditError;

#[derive(Debug, thiserror::Error)]
pub enum AddonError {
    /// Its source, a build or an image could not be had.
    #[error(transparent)]
    Make(#[from] MakeError),
    #[error("its manifest cannot be rendered")]
    Manifest(#[from] EditError),
    #[error("its manifest names other images than expected: {0}")]
    UnexpectedImages(String),
}
