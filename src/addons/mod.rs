//! Addons: what `up` installs once a new cluster is ready. Each named addon
//! is prepared before anything is created, like a pod network: its manifest
//! and the images it names, pulled or built here, so no kubelet pulls.
//! Manifests from a URL are fetched here (the nodes may have no route out);
//! files are read from this machine.
//!
//! An addon that cannot be had is a warning, not a failure: the cluster
//! comes up without it.

mod error;
pub mod headlamp;
pub mod local_path;
pub mod metrics_server;

use std::path::PathBuf;

pub use error::AddonError;

use crate::artifacts::auto;
use crate::artifacts::cache::Cache;
use crate::artifacts::download::fetch_text;
use crate::engine::Engine;
use crate::images::components::pull_and_save;
use crate::images::workload::Workload;
use crate::settings::{Addon, ImageSource, ImageSourceSetting, NamedAddon};
use crate::ui::Ui;

/// What preparing addons needs.
pub struct Inputs<'a, E> {
    pub engine: &'a E,
    pub ui: &'a Ui,
    pub cache: &'a Cache,
    /// Go architecture of the nodes (`amd64`).
    pub arch: &'a str,
    pub image_source: ImageSourceSetting,
    pub debian_mirror: &'a str,
    /// Where Headlamp's manifest is fetched ([`headlamp::MANIFEST_URL`]).
    pub headlamp_manifest: &'a str,
}

impl<'a, E> Inputs<'a, E> {
    fn workload(&self) -> Workload<'a> {
        Workload {
            ui: self.ui,
            cache: self.cache,
            arch: self.arch,
            debian_mirror: self.debian_mirror,
        }
    }
}

/// An addon ready to install.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub name: String,
    pub manifest: Manifest,
    /// `docker save` archives, imported into every node first.
    pub images: Vec<PathBuf>,
}

/// A manifest, or what renders it.
#[derive(Debug, Clone)]
pub enum Manifest {
    Text(String),
    /// A kustomization, rendered by `kubectl kustomize` in the master (the
    /// cluster's own kubectl: nothing is needed here), then edited.
    Kustomize {
        /// Copied into the master as it is.
        dir: PathBuf,
        /// The kustomization to render, relative to `dir`.
        path: &'static str,
        edit: fn(&str) -> Result<String, crate::manifest::EditError>,
    },
}

/// A named addon's preparation: ready, or left out with the reason.
pub enum Outcome {
    Ready(Prepared),
    LeftOut(String),
}

/// The addons of `addons` that can be installed. Named addons that cannot be
/// had are left out with a warning each; a URL that cannot be fetched is an
/// error (before anything is created), as the user named it.
pub async fn prepare<E: Engine>(
    addons: &[Addon],
    inputs: &Inputs<'_, E>,
) -> Result<Vec<Prepared>, FetchError> {
    let mut ready = Vec::new();
    for addon in addons {
        let prepared = match addon {
            Addon::Named(named) => {
                let outcome = match named {
                    NamedAddon::LocalPath => local_path::prepare(inputs).await,
                    NamedAddon::MetricsServer => metrics_server::prepare(inputs).await,
                    NamedAddon::Dashboard => {
                        headlamp::prepare(inputs, inputs.headlamp_manifest).await
                    }
                };
                match outcome {
                    Ok(Outcome::Ready(prepared)) => prepared,
                    Ok(Outcome::LeftOut(why)) => {
                        inputs
                            .ui
                            .warn(format!("addon {} is left out: {why}", named.as_str()));
                        continue;
                    }
                    Err(e) => {
                        inputs.ui.warn(format!(
                            "addon {} is left out: {}",
                            named.as_str(),
                            crate::error::chain(&e)
                        ));
                        continue;
                    }
                }
            }
            Addon::Url(url) => Prepared {
                name: url.clone(),
                manifest: Manifest::Text(fetch_text(url).await.map_err(|source| FetchError {
                    addon: url.clone(),
                    source: Box::new(source),
                })?),
                images: vec![],
            },
            Addon::File(path) => Prepared {
                name: path.display().to_string(),
                manifest: Manifest::Text(std::fs::read_to_string(path).map_err(|source| {
                    FetchError {
                        addon: path.display().to_string(),
                        source: Box::new(crate::artifacts::ArtifactError::LocalFile {
                            url: path.display().to_string(),
                            source,
                        }),
                    }
                })?),
                images: vec![],
            },
        };
        ready.push(prepared);
    }
    Ok(ready)
}

#[cfg(test)]
mod tests;

/// A manifest named by URL or file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("getting the manifest of addon {addon}")]
pub struct FetchError {
    pub addon: String,
    #[source]
    pub source: Box<crate::artifacts::ArtifactError>,
}

/// The source of the module version's directory and the text of its `file`.
async fn module_file(
    ui: &Ui,
    module: &str,
    version: &str,
    file: &str,
) -> Result<(PathBuf, String), AddonError> {
    crate::artifacts::gomod::module_file(ui, module, version, file)
        .await
        .map_err(|source| AddonError::Source {
            what: format!("{module}@{version}"),
            source: source.into(),
        })
}

/// Pull `reference` (or take it from the cache) into an archive.
async fn pulled<E: Engine>(inputs: &Inputs<'_, E>, reference: &str) -> Result<PathBuf, AddonError> {
    pull_and_save(inputs.engine, inputs.ui, inputs.cache, reference)
        .await
        .map_err(|source| AddonError::Image {
            image: reference.to_string(),
            source: source.into(),
        })
}

/// Whether `reference` is pulled or built.
async fn source_of<E>(inputs: &Inputs<'_, E>, reference: &str) -> ImageSource {
    auto::image_source(inputs.ui, inputs.image_source, reference).await
}

/// Build `build`; returns the directory holding its binaries.
async fn go_binaries(
    inputs: &Inputs<'_, impl Sized>,
    build: crate::artifacts::gomod::GoModuleBuild,
    what: &str,
) -> Result<PathBuf, AddonError> {
    let built = build
        .build(inputs.ui, inputs.cache, what)
        .await
        .map_err(|source| AddonError::Build {
            what: what.to_string(),
            source: source.into(),
        })?;
    Ok(built.path("bin"))
}

/// The archive of an image built here (see [`Workload::image`]).
async fn built_image<E>(
    inputs: &Inputs<'_, E>,
    reference: &str,
    recipe: Option<&crate::images::debian::Recipe>,
    files: &[(String, PathBuf)],
    entrypoint: Option<&str>,
) -> Result<PathBuf, AddonError> {
    inputs
        .workload()
        .image(reference, recipe, files, entrypoint)
        .await
        .map_err(|source| AddonError::Image {
            image: reference.to_string(),
            source: source.into(),
        })
}
