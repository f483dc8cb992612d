//! The images of pod networks built here ([`crate::images::workload`]), with
//! errors that name the network's image.

use std::path::PathBuf;

use super::{CniError, Inputs};
use crate::artifacts::gomod::{GoModuleBuild, WrapperFile};
use crate::images::debian::Recipe;
use crate::images::workload::Workload;
pub use crate::images::workload::{BUSYBOX, FLANNEL, KUBE_ROUTER};

fn workload<'a, E>(inputs: &'a Inputs<'_, E>) -> Workload<'a> {
    Workload {
        ui: inputs.ui,
        cache: inputs.cache,
        arch: inputs.arch,
        debian_mirror: inputs.debian_mirror,
    }
}

/// A file of the Debian system the images are cut from.
pub async fn system_file<E>(inputs: &Inputs<'_, E>, path: &str) -> Result<PathBuf, CniError> {
    workload(inputs)
        .system_file(path)
        .await
        .map_err(|source| CniError::Image {
            image: format!("the file {path}"),
            source: source.into(),
        })
}

/// Build `build` (with `files` in its wrapper module); returns the directory
/// holding its binaries.
pub async fn go_binaries<E>(
    inputs: &Inputs<'_, E>,
    build: GoModuleBuild,
    what: &str,
    files: &[WrapperFile],
) -> Result<PathBuf, CniError> {
    let built = build
        .build_with_files(inputs.ui, inputs.cache, what, files)
        .await
        .map_err(|source| CniError::Build {
            what: what.to_string(),
            source: source.into(),
        })?;
    Ok(built.path("bin"))
}

/// The archive of image `reference`: `recipe`'s layer and `files` on top.
pub async fn image<E>(
    inputs: &Inputs<'_, E>,
    reference: &str,
    recipe: &Recipe,
    files: &[(String, PathBuf)],
    entrypoint: Option<&str>,
) -> Result<PathBuf, CniError> {
    workload(inputs)
        .image(reference, Some(recipe), files, entrypoint)
        .await
        .map_err(|source| CniError::Image {
            image: reference.to_string(),
            source: source.into(),
        })
}
