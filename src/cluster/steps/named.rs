//! Named snapshots in the engine ([`crate::cluster::state::snapshot::named`]):
//! listed and judged from their labels, saved (each node's /var copied, its
//! root filesystem committed), made the cluster's own snapshot again for a
//! restore, removed.

use futures_util::future::try_join_all;

use crate::cluster::state::plan::NodePlan;
use crate::cluster::state::snapshot::named::{
    self, image_reference, judge_all, volume_labels, volume_name, Saved, SavedLabels,
};
use crate::cluster::state::snapshot::{self, SnapshotLabels};
use crate::cluster::{cluster_labels, ClusterError, Ctx, Result};
use crate::engine::temporary::Temporary;
use crate::engine::{ContainerSpec, Engine, ImageConfig, RemoveImage};
use crate::labels::{
    LABEL_ROLE, LABEL_SAVED_FROM, LABEL_SNAPSHOT_NAME, ROLE_NODE_VAR, ROLE_PROBE,
    ROLE_SAVED_SNAPSHOT, ROLE_SAVED_VAR,
};

/// Every named snapshot of the cluster, judged, in name order.
pub async fn list<E: Engine>(cx: Ctx<'_, E>) -> Result<Vec<Saved>> {
    let cluster = cx.plan.name.as_str();
    let images = cx
        .engine
        .list_images(&[
            (LABEL_SAVED_FROM, cluster),
            (LABEL_ROLE, ROLE_SAVED_SNAPSHOT),
        ])
        .await?;
    let mut labels = Vec::new();
    for image in &images {
        if let Some(details) = cx.engine.inspect_image(&image.id).await? {
            let name = image.tags.first().unwrap_or(&image.id);
            labels.push(SavedLabels::from_labels(name, &details.labels));
        }
    }
    let volumes = cx
        .engine
        .list_volumes(&[(LABEL_SAVED_FROM, cluster), (LABEL_ROLE, ROLE_SAVED_VAR)])
        .await?
        .into_iter()
        // `<node's /var volume>.<name>`: the /var volume's name has no dot.
        .filter_map(|v| v.rsplit_once('.').map(|(_, n)| (v.clone(), n.to_string())))
        .collect::<Vec<_>>();
    Ok(judge_all(cx.plan, &labels, &volumes))
}

/// Save the cluster's nodes (frozen by the caller) as snapshot `name`: every
/// /var copied first, then every root filesystem committed with the labels
/// that make the snapshot whole. `record` is what the cluster's own
/// snapshot says of its settings. On failure what was made is removed.
pub async fn save<E: Engine>(
    cx: Ctx<'_, E>,
    name: &str,
    record: &SnapshotLabels,
    saved_at: i64,
) -> Result<u64> {
    let result = save_all(cx, name, record, saved_at).await;
    if result.is_err() {
        if let Err(e) = remove(cx, name).await {
            cx.ui.warn(format!(
                "could not remove the part of snapshot {name:?} already saved: {}",
                crate::error::chain(&e)
            ));
        }
    }
    result
}

async fn save_all<E: Engine>(
    cx: Ctx<'_, E>,
    name: &str,
    record: &SnapshotLabels,
    saved_at: i64,
) -> Result<u64> {
    let plan = cx.plan;
    let sizes = try_join_all(plan.nodes.iter().map(|node| async move {
        // The node's own snapshot image has cp and du; it is there while
        // the cluster runs.
        let helper = snapshot::image_reference(plan, &node.name);
        let volume = volume_name(node, name);
        let labels = volume_labels(plan, name);
        copy_var(cx, &helper, &node.var_volume, &volume, &labels).await
    }))
    .await?;
    try_join_all(
        plan.nodes
            .iter()
            .zip(&sizes)
            .map(|(node, bytes)| async move {
                let labels = SavedLabels {
                    name: name.to_string(),
                    snapshot: SnapshotLabels {
                        node: node.name.clone(),
                        ..record.clone()
                    },
                    saved_at,
                    var_bytes: *bytes,
                };
                let config = ImageConfig {
                    labels: labels.to_labels(&plan.name),
                    ..Default::default()
                };
                cx.engine
                    .commit_container(
                        &node.container,
                        &image_reference(plan, name, &node.name),
                        &config,
                    )
                    .await
                    .map_err(|source| ClusterError::Snapshot {
                        node: node.name.clone(),
                        source,
                    })
            }),
    )
    .await?;
    Ok(sizes.iter().sum())
}

/// Make snapshot `saved` the cluster's own (its nodes removed by the
/// caller): each node's /var volume becomes a copy of the saved one, and
/// its snapshot image one made from the saved image, so that a restore, and
/// every `down` and `up` after it, starts from the saved moment.
///
/// The cluster's snapshot images go first and come back last: stopped
/// midway, the cluster has no whole snapshot (an image is missing), so no
/// `up` restores a mixture of two moments or a half-copied /var.
pub async fn make_current<E: Engine>(cx: Ctx<'_, E>, saved: &Saved) -> Result<()> {
    let plan = cx.plan;
    crate::cluster::steps::snapshot::remove_images(cx).await?;
    try_join_all(plan.nodes.iter().map(|node| async move {
        let image = image_reference(plan, &saved.name, &node.name);
        let labels = cluster_labels(plan, ROLE_NODE_VAR);
        copy_var(
            cx,
            &image,
            &volume_name(node, &saved.name),
            &node.var_volume,
            &labels,
        )
        .await
    }))
    .await?;
    try_join_all(plan.nodes.iter().map(|node| async move {
        let image = image_reference(plan, &saved.name, &node.name);
        relabel_as_snapshot(cx, saved, node, &image).await
    }))
    .await?;
    Ok(())
}

/// The cluster's snapshot image of `node`: the saved image under the
/// automatic snapshot's reference and labels (a commit of a container made
/// from it and never started: the same files, new labels).
async fn relabel_as_snapshot<E: Engine>(
    cx: Ctx<'_, E>,
    saved: &Saved,
    node: &NodePlan,
    image: &str,
) -> Result<()> {
    let plan = cx.plan;
    let reference = snapshot::image_reference(plan, &node.name);
    let record = SnapshotLabels {
        node: node.name.clone(),
        fingerprint: saved
            .fields
            .as_ref()
            .map(|f| f.fingerprint())
            .unwrap_or_default(),
        fields: saved.fields.clone(),
        api_port: saved.api_port,
        run_mode: saved.run_mode,
        damage: None,
    };
    let mut labels = record.to_labels(&plan.name);
    labels.insert(LABEL_SAVED_FROM.to_string(), String::new());
    labels.insert(LABEL_SNAPSHOT_NAME.to_string(), String::new());
    let temp = format!(
        "local-cluster-relabel-{}-{}",
        node.container,
        std::process::id()
    );
    let listed = Temporary::list(&temp);
    let spec = ContainerSpec {
        name: temp.clone(),
        image: image.to_string(),
        labels: cluster_labels(plan, ROLE_PROBE),
        ..Default::default()
    };
    cx.engine.remove_container(&temp).await?;
    cx.engine.create_container(&spec).await?;
    let config = ImageConfig {
        labels,
        ..Default::default()
    };
    let committed = cx.engine.commit_container(&temp, &reference, &config).await;
    listed.remove(cx.engine).await?;
    committed.map_err(|source| ClusterError::Snapshot {
        node: node.name.clone(),
        source,
    })?;
    Ok(())
}

/// Copy the volume `from` into a new volume `to` (made with `labels`,
/// replacing one of that name) in a container of `image`; returns the size
/// of what was copied, in bytes.
async fn copy_var<E: Engine>(
    cx: Ctx<'_, E>,
    image: &str,
    from: &str,
    to: &str,
    labels: &std::collections::BTreeMap<String, String>,
) -> Result<u64> {
    let engine = cx.engine;
    engine.remove_volume(to).await?;
    engine.create_volume(to, labels).await?;
    let temp = format!("local-cluster-copy-{to}-{}", std::process::id());
    let listed = Temporary::list(&temp);
    let spec = ContainerSpec {
        name: temp.clone(),
        image: image.to_string(),
        entrypoint: Some(vec!["sleep".to_string(), "infinity".to_string()]),
        cmd: Some(vec![]),
        binds: vec![format!("{from}:/from:ro"), format!("{to}:/to")],
        labels: cluster_labels(cx.plan, ROLE_PROBE),
        ..Default::default()
    };
    engine.remove_container(&temp).await?;
    engine.create_container(&spec).await?;
    let copied = async {
        engine.start_container(&temp).await?;
        engine.sh(&temp, "cp -a /from/. /to/ && du -sb /to").await
    }
    .await;
    listed.remove(engine).await?;
    let out = copied.map_err(|source| ClusterError::CopyVar {
        from: from.to_string(),
        to: to.to_string(),
        source: Box::new(source),
    })?;
    Ok(out
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0))
}

/// Remove snapshot `name`: its images and volumes.
pub async fn remove<E: Engine>(cx: Ctx<'_, E>, name: &str) -> Result<()> {
    let cluster = cx.plan.name.as_str();
    for image in cx
        .engine
        .list_images(&[
            (LABEL_SAVED_FROM, cluster),
            (LABEL_ROLE, ROLE_SAVED_SNAPSHOT),
            (LABEL_SNAPSHOT_NAME, name),
        ])
        .await?
    {
        cx.engine
            .remove_image(&image.id, RemoveImage::Force)
            .await?;
    }
    for volume in cx
        .engine
        .list_volumes(&[
            (LABEL_SAVED_FROM, cluster),
            (LABEL_ROLE, ROLE_SAVED_VAR),
            (LABEL_SNAPSHOT_NAME, name),
        ])
        .await?
    {
        cx.engine.remove_volume(&volume).await?;
    }
    Ok(())
}

/// Check a name given on the command line.
pub fn check_name(name: &str) -> Result<()> {
    named::check_name(name).map_err(ClusterError::SnapshotName)
}
