//! What everything that builds or fetches images and binaries for a cluster
//! works with (node images, pod networks, addons, component and e2e test
//! images): one [`BuildContext`], and one error, [`MakeError`], for "could
//! not get its source, build it, or make its image", naming the component.
//! The helpers
//! that make images from it are in [`super::workload`], above the component
//! images they assemble with.

use std::path::PathBuf;

use super::ImageError;
use crate::artifacts::cache::Cache;
use crate::artifacts::gomod::GoModuleBuild;
use crate::artifacts::{auto, ArtifactError};
use crate::settings::{ImageSource, ImageSourceSetting};
use crate::ui::Ui;

/// The engine, output, cache, the nodes' architecture, where images come
/// from and the Debian mirror systems are installed from.
pub struct BuildContext<'a, E> {
    pub engine: &'a E,
    pub ui: &'a Ui,
    pub cache: &'a Cache,
    /// Go architecture of the nodes (`amd64`).
    pub arch: &'a str,
    pub image_source: ImageSourceSetting,
    pub debian_mirror: &'a str,
}

impl<E> Clone for BuildContext<'_, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for BuildContext<'_, E> {}

/// Could not get what a component needs: its source, a build from it, or
/// an image; says which.
#[derive(Debug, thiserror::Error)]
pub enum MakeError {
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
}

impl MakeError {
    /// For a failure to get `what`.
    pub fn getting(what: impl Into<String>) -> impl FnOnce(ArtifactError) -> MakeError {
        let what = what.into();
        move |source| MakeError::Source {
            what,
            source: Box::new(source),
        }
    }

    /// For a failure to make `image`.
    pub fn making(image: impl Into<String>) -> impl FnOnce(ImageError) -> MakeError {
        let image = image.into();
        move |source| MakeError::Image {
            image,
            source: Box::new(source),
        }
    }
}

impl<E> BuildContext<'_, E> {
    /// Where `reference` comes from: the setting, or for `auto` whether
    /// its registry answers.
    pub async fn source_of(&self, reference: &str) -> ImageSource {
        auto::image_source(self.ui, self.image_source, reference).await
    }

    /// A module version's source directory and the text of its `file` (a
    /// manifest), for errors named `what`.
    pub async fn module_file(
        &self,
        what: &str,
        module: &str,
        version: &str,
        file: &str,
    ) -> Result<(PathBuf, String), MakeError> {
        crate::artifacts::gomod::module_file(self.ui, module, version, file)
            .await
            .map_err(MakeError::getting(what))
    }

    /// Build `build` (named `what`); the directory holding its binaries.
    pub async fn go_binaries(
        &self,
        build: GoModuleBuild,
        what: &str,
        files: &[crate::artifacts::gomod::WrapperFile],
    ) -> Result<PathBuf, MakeError> {
        let built = build
            .build_with_files(self.ui, self.cache, what, files)
            .await
            .map_err(|source| MakeError::Build {
                what: what.to_string(),
                source: Box::new(source),
            })?;
        Ok(built.path("bin"))
    }
}
