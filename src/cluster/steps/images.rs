//! Images into the nodes' containerd: `docker save` archives imported into
//! every running node, and what all nodes already hold.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use futures_util::future::try_join_all;

use crate::cluster::{ClusterError, Ctx, Result};
use crate::engine::Engine;

const IMPORT_DIR: &str = "/var/tmp/local-cluster-load";

/// The running nodes, or an error when none is.
pub async fn running_nodes<E: Engine>(cx: Ctx<'_, E>) -> Result<Vec<String>> {
    let nodes = cx.node_containers().await?;
    let running: Vec<String> = nodes
        .into_iter()
        .filter(|(_, up)| *up)
        .map(|(name, _)| name)
        .collect();
    if running.is_empty() {
        return Err(ClusterError::NotRunning {
            cluster: cx.plan.name.clone(),
            flag: cx.plan.cluster_flag(),
        });
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
