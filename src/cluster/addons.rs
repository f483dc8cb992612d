//! Addons: manifests applied once the cluster is ready. A name stands for a
//! known manifest URL; URLs are downloaded here (not in the nodes, which may
//! have no route out); files are read from this machine.

use super::{ClusterError, Ctx, Result};
use crate::artifacts::download::fetch_text;
use crate::engine::Engine;
use crate::settings::Addon;

/// The manifest a named addon stands for.
fn named_url(name: &str) -> Option<&'static str> {
    match name {
        // The last Kubernetes Dashboard release installable from one manifest.
        "dashboard" => Some(
            "https://raw.githubusercontent.com/kubernetes/dashboard/v2.7.0/aio/deploy/recommended.yaml",
        ),
        _ => None,
    }
}

pub async fn install<E: Engine>(cx: Ctx<'_, E>) -> Result<()> {
    let kubectl = cx.kubectl();
    for addon in &cx.plan.addons {
        let fetch_error = |source| ClusterError::AddonFetch {
            addon: addon.to_string(),
            source: Box::new(source),
        };
        let manifest = match addon {
            Addon::Named(name) => match named_url(name) {
                Some(url) => fetch_text(url).await.map_err(fetch_error)?,
                None => return Err(ClusterError::UnknownAddon(name.clone())),
            },
            Addon::Url(url) => fetch_text(url).await.map_err(fetch_error)?,
            Addon::File(path) => {
                std::fs::read_to_string(path).map_err(ClusterError::io("reading addon", path))?
            }
        };
        kubectl
            .apply(&manifest)
            .await
            .map_err(|e| ClusterError::AddonApply {
                addon: addon.to_string(),
                source: Box::new(e),
            })?;
    }
    Ok(())
}
