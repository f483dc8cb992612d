//! `local-cluster load`: copy images from the Docker engine into every
//! node's containerd, so pods can use locally built images without a registry.

use anyhow::{bail, Context, Result};
use futures_util::future::try_join_all;
use futures_util::TryStreamExt;
use tokio::io::AsyncWriteExt;

use super::plan::ClusterPlan;
use crate::engine::Engine;

const IMPORT_DIR: &str = "/var/tmp/local-cluster-load";

pub async fn load_images(engine: &Engine, plan: &ClusterPlan, images: &[String]) -> Result<()> {
    for image in images {
        if engine.inspect_image(image).await?.is_none() {
            bail!("image {image} is not in the Docker engine; build or pull it first");
        }
    }
    let nodes = super::node_containers(engine, plan).await?;
    let running: Vec<&String> = nodes
        .iter()
        .filter(|(_, up)| **up)
        .map(|(name, _)| name)
        .collect();
    if running.is_empty() {
        bail!(
            "cluster {:?} is not running; run `local-cluster up` first",
            plan.name
        );
    }
    // One `docker save` to a temporary file, then copied into each node.
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let archive = dir.path().join("images.tar");
    let mut file = tokio::fs::File::create(&archive).await?;
    let refs: Vec<&str> = images.iter().map(String::as_str).collect();
    let mut stream = engine.save_images(&refs);
    while let Some(chunk) = stream.try_next().await? {
        file.write_all(&chunk).await?;
    }
    file.flush().await?;
    drop(file);
    try_join_all(running.iter().map(|node| {
        let archive = archive.clone();
        async move {
            engine
                .upload_files(node, IMPORT_DIR, &[("images.tar".to_string(), archive)])
                .await?;
            let script = format!(
                "ctr --namespace k8s.io images import --all-platforms {IMPORT_DIR}/images.tar; rc=$?; rm -rf {IMPORT_DIR}; exit $rc"
            );
            engine
                .sh(node, &script)
                .await
                .with_context(|| format!("importing images into {node}"))?;
            anyhow::Ok(())
        }
    }))
    .await?;
    Ok(())
}
