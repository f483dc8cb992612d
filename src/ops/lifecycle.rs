//! A cluster's life around `up` ([`super::up`]): whether it runs, `down`
//! (the snapshot stays), `clean` (everything goes, the local registry
//! ([`crate::registry`]) too), and the node image a snapshot was made from
//! when only its tag is gone.

use std::time::Instant;

use crate::cluster::state::health::Condition;
use crate::cluster::state::snapshot::SnapshotState;
use crate::cluster::steps::{health, network, node, snapshot};
use crate::cluster::{plural, ClusterError, Ctx, Result};
use crate::engine::Engine;
use crate::ui::seconds;

/// Is the cluster up and well: every node running, finished by an `up`,
/// its containerd and kubelet active?
pub async fn is_healthy<E: Engine>(cx: Ctx<'_, E>) -> Result<bool> {
    Ok(health::inspect(cx).await?.condition() == Condition::Healthy)
}

/// Are all of the cluster's node containers running?
pub async fn is_running<E: Engine>(cx: Ctx<'_, E>) -> Result<bool> {
    let nodes = cx.node_containers().await?;
    Ok(!nodes.is_empty() && nodes.values().all(|r| *r))
}

pub fn say_running<E>(cx: Ctx<'_, E>) {
    cx.ui.info(format!(
        "Cluster {:?} is already running; nothing changed. \
         To start it with other settings, run `local-cluster down{}` first.",
        cx.plan.name,
        cx.plan.cluster_flag()
    ));
}

/// The node image a snapshot was made from, when its tag `reference` (of
/// Kubernetes `version` for `arch`) is gone (`docker rmi -f` of a tag only
/// untags an image that has children) but the image is still in the engine.
pub async fn orphaned_node_image<E: Engine>(
    cx: Ctx<'_, E>,
    reference: &str,
    version: &str,
    arch: &str,
) -> Result<Option<String>> {
    if cx.engine.inspect_image(reference).await?.is_some() {
        return Ok(None);
    }
    let SnapshotState::Complete { fields, .. } = snapshot::state(cx).await? else {
        return Ok(None);
    };
    // Only the image for the version and architecture the tag names: an
    // older version's image under a newer tag would lie about itself.
    if fields.kubernetes_version != version {
        return Ok(None);
    }
    Ok(cx
        .engine
        .inspect_image(&fields.node_image)
        .await?
        .filter(|image| image.arch == arch)
        .map(|image| image.id))
}

/// Tag the snapshot's node image as `reference` again when only its tag
/// was removed, so that `up` restores the snapshot rather than building a
/// new node image (whose id would make the snapshot stale). Says so.
pub async fn retag_orphaned_node_image<E: Engine>(
    cx: Ctx<'_, E>,
    reference: &str,
    arch: &str,
) -> Result<bool> {
    let version = cx.plan.kubernetes_version.to_string();
    let Some(id) = orphaned_node_image(cx, reference, &version, arch).await? else {
        return Ok(false);
    };
    cx.engine.tag_image(&id, reference).await?;
    cx.ui.warn(format!(
        "node image {reference} was missing, but the image the snapshot of cluster {:?} \
         was made from ({id}) is still in the engine: tagged it {reference} again",
        cx.plan.name
    ));
    Ok(true)
}

/// Remove the node containers; keep the volumes when a snapshot can use them.
/// Returns whether there was anything to remove.
pub async fn down<E: Engine>(cx: Ctx<'_, E>) -> Result<bool> {
    let nodes = cx.node_containers().await?;
    if nodes.is_empty() {
        cx.ui.info(format!(
            "Cluster {:?} is not running; nothing to do.",
            cx.plan.name
        ));
        return Ok(false);
    }
    let keep = matches!(snapshot::state(cx).await?, SnapshotState::Complete { .. });
    let step = cx.ui.step(format!(
        "Removing {} node container{}{}",
        nodes.len(),
        plural(nodes.len()),
        if keep { " (the snapshot stays)" } else { "" }
    ));
    node::remove_all(cx).await?;
    if !keep {
        node::remove_volumes(cx).await?;
    }
    step.done();
    Ok(true)
}

/// Containers, volumes, snapshot images.
pub async fn remove_all<E: Engine>(cx: Ctx<'_, E>) -> Result<()> {
    node::remove_all(cx).await?;
    node::remove_volumes(cx).await?;
    snapshot::remove_images(cx).await
}

/// `down` plus the snapshot, the network and the files in the home directory.
pub async fn clean<E: Engine>(cx: Ctx<'_, E>) -> Result<()> {
    let start = Instant::now();
    remove_all(cx).await?;
    crate::registry::remove(cx).await?;
    network::remove(cx).await?;
    let plan = cx.plan;
    for path in [
        plan.admin_conf(),
        plan.kubectl_path(),
        plan.home_dir.join("kubectl.version"),
    ] {
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(ClusterError::io("removing", &path)(e))
            }
            _ => {}
        }
    }
    cx.ui
        .note(format!("cleaned in {}", seconds(start.elapsed())));
    Ok(())
}
