//! Addons: manifests applied once the cluster is ready. A name stands for a
//! known manifest URL; URLs are downloaded here (not in the nodes, which may
//! have no route out); files are read from this machine.

use anyhow::{Context, Result};

use super::kubectl::Kubectl;
use super::plan::ClusterPlan;
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

pub async fn install(engine: &Engine, plan: &ClusterPlan) -> Result<()> {
    let kubectl = Kubectl::new(engine, &plan.master().container);
    for addon in &plan.addons {
        let manifest = match addon {
            Addon::Named(name) => {
                let url = named_url(name).with_context(|| format!("unknown addon {name}"))?;
                fetch_text(url)
                    .await
                    .with_context(|| format!("fetching addon {name}"))?
            }
            Addon::Url(url) => fetch_text(url)
                .await
                .with_context(|| format!("fetching addon {url}"))?,
            Addon::File(path) => std::fs::read_to_string(path)
                .with_context(|| format!("reading addon {}", path.display()))?,
        };
        kubectl
            .apply(&manifest)
            .await
            .with_context(|| format!("applying addon {addon}"))?;
    }
    Ok(())
}
