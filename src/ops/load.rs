//! `local-cluster load`: copy images from the Docker engine into every
//! node's containerd, so pods can use locally built images without a registry.

use std::path::PathBuf;

use crate::cluster::steps::images::{import_archives_into, running_nodes};
use crate::cluster::{ClusterError, Ctx, Result};
use crate::engine::{Engine, Images};

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
    // The archives saved here, with the images each holds (for errors).
    let mut saved: Vec<(PathBuf, &[&str])> = Vec::new();
    if !here.is_empty() {
        let path = dir.path().join("engine.tar");
        crate::engine::save_images_to(engine, &here, &path).await?;
        archives.push(path.clone());
        saved.push((path, &here));
    }
    if let Some(local) = local.filter(|_| !from_local.is_empty()) {
        cx.ui.info(format!(
            "{} taken from the local Docker engine",
            from_local.join(", ")
        ));
        let path = dir.path().join("local.tar");
        crate::engine::save_images_to(local, &from_local, &path).await?;
        archives.push(path.clone());
        saved.push((path, &from_local));
    }
    import_archives_into(cx, &archives, &running)
        .await
        .map_err(|mut e| {
            if let ClusterError::NoImageForPlatform {
                archive, images, ..
            } = &mut e
            {
                if let Some((_, names)) = saved.iter().find(|(path, _)| path == archive) {
                    *images = names.iter().map(|n| n.to_string()).collect();
                }
            }
            e
        })
}
