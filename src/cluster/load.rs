//! `local-cluster load`: copy images from the Docker engine into every
//! node's containerd, so pods can use locally built images without a registry.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use futures_util::future::try_join_all;

use super::{ClusterError, Ctx, Result};
use crate::engine::{Engine, Images};

const IMPORT_DIR: &str = "/var/tmp/local-cluster-load";

/// What `load` sends: images by name, and `docker save` archives.
#[derive(Debug, Default)]
pub struct LoadRequest {
    pub images: Vec<String>,
    pub archives: Vec<PathBuf>,
}

/// Load images into every running node. Images are taken from the cluster's
/// engine; those it lacks from `local` (the engine on this machine, when the
/// cluster's is remote), so an image built here reaches a remote cluster
/// without a registry. Everything is checked before anything is sent.
pub async fn load_images<E: Engine, L: Images>(
    cx: Ctx<'_, E>,
    request: &LoadRequest,
    local: Option<&L>,
) -> Result<()> {
    let engine = cx.engine;
    let mut here = Vec::new();
    let mut from_local = Vec::new();
    for image in &request.images {
        if engine.inspect_image(image).await?.is_some() {
            here.push(image.as_str());
            continue;
        }
        match local {
            Some(local) if local.inspect_image(image).await?.is_some() => {
                from_local.push(image.as_str())
            }
            Some(_) => {
                return Err(ClusterError::ImageMissingBoth {
                    image: image.clone(),
                    remote: engine.endpoint().host.clone(),
                })
            }
            None => return Err(ClusterError::ImageMissing(image.clone())),
        }
    }
    for archive in &request.archives {
        if !archive.is_file() {
            return Err(ClusterError::NoArchive(archive.clone()));
        }
    }
    let running = running_nodes(cx).await?;
    // One `docker save` per engine to a temporary file, copied into each node.
    let dir = tempfile::tempdir().map_err(ClusterError::io(
        "creating a directory in",
        &std::env::temp_dir(),
    ))?;
    let mut archives = request.archives.clone();
    if !here.is_empty() {
        let path = dir.path().join("engine.tar");
        crate::engine::save_images_to(engine, &here, &path).await?;
        archives.push(path);
    }
    if let Some(local) = local.filter(|_| !from_local.is_empty()) {
        cx.ui.info(format!(
            "{} taken from the local Docker engine",
            from_local.join(", ")
        ));
        let path = dir.path().join("local.tar");
        crate::engine::save_images_to(local, &from_local, &path).await?;
        archives.push(path);
    }
    import_archives_into(cx, &archives, &running).await
}

/// The running nodes, or an error when none is.
async fn running_nodes<E: Engine>(cx: Ctx<'_, E>) -> Result<Vec<String>> {
    let nodes = cx.node_containers().await?;
    let running: Vec<String> = nodes
        .into_iter()
        .filter(|(_, up)| *up)
        .map(|(name, _)| name)
        .collect();
    if running.is_empty() {
        return Err(ClusterError::NotRunning(cx.plan.name.clone()));
    }
    Ok(running)
}

/// Import a `docker save` archive into every running node's containerd.
pub async fn import_archive<E: Engine>(cx: Ctx<'_, E>, archive: &Path) -> Result<()> {
    let running = running_nodes(cx).await?;
    import_archives_into(cx, &[archive.to_path_buf()], &running).await
}

/// Import `docker save` archives into the containerd of these node
/// containers: each node gets them in one upload, and all nodes at once.
pub async fn import_archives_into<E: Engine>(
    cx: Ctx<'_, E>,
    archives: &[PathBuf],
    nodes: &[String],
) -> Result<()> {
    let engine = cx.engine;
    let files: Vec<(String, PathBuf)> = archives
        .iter()
        .enumerate()
        .map(|(i, path)| (format!("{i}.tar"), path.clone()))
        .collect();
    let imports: Vec<String> = files
        .iter()
        .map(|(name, _)| {
            format!("ctr --namespace k8s.io images import --all-platforms {IMPORT_DIR}/{name}")
        })
        .collect();
    let script = format!(
        "rc=0; {{ {}; }} || rc=$?; rm -rf {IMPORT_DIR}; exit $rc",
        imports.join(" && ")
    );
    try_join_all(nodes.iter().map(|node| {
        let (files, script) = (&files, &script);
        async move {
            let import = async {
                engine.upload_files(node, IMPORT_DIR, files).await?;
                engine.sh(node, script).await
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

/// The image references every running node's containerd holds (those all
/// nodes share).
pub async fn images_in_all_nodes<E: Engine>(cx: Ctx<'_, E>) -> Result<BTreeSet<String>> {
    let running = running_nodes(cx).await?;
    let mut common: Option<BTreeSet<String>> = None;
    for node in &running {
        let listed = cx
            .engine
            .sh(node, "ctr --namespace k8s.io images list --quiet")
            .await
            .map_err(|source| ClusterError::ListNodeImages {
                node: node.to_string(),
                source,
            })?;
        let here: BTreeSet<String> = listed.lines().map(|l| l.trim().to_string()).collect();
        common = Some(match common {
            None => here,
            Some(before) => before.intersection(&here).cloned().collect(),
        });
    }
    Ok(common.unwrap_or_default())
}
