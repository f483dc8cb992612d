//! `local-cluster load`: copy images from the Docker engine into every
//! node's containerd, so pods can use locally built images without a registry.

use futures_util::future::try_join_all;

use super::{ClusterError, Ctx, Result};
use crate::engine::Engine;

const IMPORT_DIR: &str = "/var/tmp/local-cluster-load";

pub async fn load_images<E: Engine>(cx: Ctx<'_, E>, images: &[String]) -> Result<()> {
    let engine = cx.engine;
    for image in images {
        if engine.inspect_image(image).await?.is_none() {
            return Err(ClusterError::ImageMissing(image.clone()));
        }
    }
    let nodes = cx.node_containers().await?;
    let running: Vec<&String> = nodes
        .iter()
        .filter(|(_, up)| **up)
        .map(|(name, _)| name)
        .collect();
    if running.is_empty() {
        return Err(ClusterError::NotRunning(cx.plan.name.clone()));
    }
    // One `docker save` to a temporary file, then copied into each node.
    let dir = tempfile::tempdir().map_err(ClusterError::io(
        "creating a directory in",
        &std::env::temp_dir(),
    ))?;
    let archive = dir.path().join("images.tar");
    let refs: Vec<&str> = images.iter().map(String::as_str).collect();
    crate::engine::save_images_to(engine, &refs, &archive).await?;
    try_join_all(running.iter().map(|node| {
        let archive = archive.clone();
        async move {
            let import = async {
                engine
                    .upload_files(node, IMPORT_DIR, &[("images.tar".to_string(), archive)])
                    .await?;
                let script = format!(
                    "ctr --namespace k8s.io images import --all-platforms {IMPORT_DIR}/images.tar; rc=$?; rm -rf {IMPORT_DIR}; exit $rc"
                );
                engine.sh(node, &script).await
            };
            import.await.map_err(|source| ClusterError::ImportImages {
                node: node.to_string(),
                source,
            })
        }
    }))
    .await?;
    Ok(())
}
