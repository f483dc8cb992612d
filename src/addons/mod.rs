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

use crate::artifacts::download::fetch_text;
use crate::engine::Engine;
use crate::images::BuildContext;
use crate::settings::{Addon, NamedAddon};

/// What preparing addons needs.
pub struct Inputs<'a, E> {
    pub build: BuildContext<'a, E>,
    /// Where Headlamp's manifest is fetched ([`headlamp::MANIFEST_URL`]).
    pub headlamp_manifest: &'a str,
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
                            .build
                            .ui
                            .warn(format!("addon {} is left out: {why}", named.as_str()));
                        continue;
                    }
                    Err(e) => {
                        inputs.build.ui.warn(format!(
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
