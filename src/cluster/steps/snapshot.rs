//! The snapshot in the engine: judged from its images' and volumes' labels
//! ([`judge`]), taken by committing every node, removed with the cluster.

use futures_util::future::try_join_all;

use crate::cluster::state::plan::{node_plans, RunMode};
use crate::cluster::state::snapshot::{
    image_reference, judge, SnapshotFields, SnapshotLabels, SnapshotState,
};
use crate::cluster::{ClusterError, Ctx, Result};
use crate::engine::{Engine, EngineError, ImageConfig, RemoveImage};
use crate::labels::{LABEL_CLUSTER, LABEL_FINGERPRINT, LABEL_NODE_NAME, LABEL_ROLE, ROLE_SNAPSHOT};

/// Inspect the snapshot of the context's cluster.
pub async fn state<E: Engine>(cx: Ctx<'_, E>) -> Result<SnapshotState> {
    let plan = cx.plan;
    let images = cx
        .engine
        .list_images(&[(LABEL_CLUSTER, &plan.name), (LABEL_ROLE, ROLE_SNAPSHOT)])
        .await?;
    let mut labels = Vec::new();
    for image in &images {
        if let Some(details) = cx.engine.inspect_image(&image.id).await? {
            let name = image
                .tags
                .iter()
                .find(|t| *t != "<none>:<none>")
                .unwrap_or(&image.id);
            labels.push(SnapshotLabels::from_labels(name, &details.labels));
        }
    }
    let volumes = cx
        .engine
        .list_volumes(&[(LABEL_CLUSTER, &plan.name)])
        .await?;
    let judged = judge(plan, &labels, &volumes);
    if let SnapshotState::Complete {
        fingerprint,
        fields,
        ..
    } = &judged
    {
        // A restore starts each node from its reference: it must name the
        // image judged, not one tagged over it.
        for node in node_plans(&plan.name, plan.subnet, fields.num_nodes) {
            if let Some(why) = check_reference(cx, &node.name, fingerprint).await? {
                return Ok(SnapshotState::Damaged(why));
            }
        }
    }
    Ok(judged)
}

/// What is wrong with the image `node`'s snapshot reference names, if it is
/// not this cluster's snapshot of that node with `fingerprint`.
async fn check_reference<E: Engine>(
    cx: Ctx<'_, E>,
    node: &str,
    fingerprint: &str,
) -> Result<Option<String>> {
    let reference = image_reference(cx.plan, node);
    let Some(details) = cx.engine.inspect_image(&reference).await? else {
        return Ok(Some(format!("the image {reference} is missing")));
    };
    let label = |k: &str| details.labels.get(k).map(String::as_str).unwrap_or("");
    let wrong = if label(LABEL_ROLE) != ROLE_SNAPSHOT {
        Some("it has no snapshot labels".to_string())
    } else if label(LABEL_CLUSTER) != cx.plan.name {
        Some(format!(
            "it is labelled for cluster {:?}",
            label(LABEL_CLUSTER)
        ))
    } else if label(LABEL_NODE_NAME) != node {
        Some(format!(
            "it is labelled for node {:?}",
            label(LABEL_NODE_NAME)
        ))
    } else if label(LABEL_FINGERPRINT) != fingerprint {
        Some("it was made for other settings than the other nodes' images".to_string())
    } else {
        None
    };
    Ok(wrong.map(|w| {
        format!(
            "the image {reference} is not the snapshot of {node} (it is {}: {w})",
            details.id
        )
    }))
}

/// Commit every node (they keep running) as the cluster's snapshot. When
/// a commit fails, the images already made go too: a partial snapshot
/// would only be judged damaged later, and holds space the engine lacks.
pub async fn take<E: Engine>(
    cx: Ctx<'_, E>,
    fields: &SnapshotFields,
    api_port: u16,
    run_mode: RunMode,
) -> Result<()> {
    let result = commit_all(cx, fields, api_port, run_mode).await;
    if result.is_err() {
        if let Err(e) = remove_images(cx).await {
            cx.ui.warn(format!(
                "could not remove the partial snapshot of cluster {:?}: {}",
                cx.plan.name,
                crate::error::chain(&e)
            ));
        }
    }
    result
}

async fn commit_all<E: Engine>(
    cx: Ctx<'_, E>,
    fields: &SnapshotFields,
    api_port: u16,
    run_mode: RunMode,
) -> Result<()> {
    let plan = cx.plan;
    try_join_all(plan.nodes.iter().map(|node| async move {
        let labels = SnapshotLabels {
            node: node.name.clone(),
            fingerprint: fields.fingerprint(),
            fields: Some(fields.clone()),
            api_port: Some(api_port),
            run_mode: Some(run_mode),
            damage: None,
        };
        let config = ImageConfig {
            labels: labels.to_labels(&plan.name),
            ..Default::default()
        };
        cx.engine
            .commit_container(&node.container, &image_reference(plan, &node.name), &config)
            .await
            .map_err(|source| snapshot_error(cx, &node.name, source))
    }))
    .await?;
    Ok(())
}

/// A failed commit; one for want of space names the engine's disk.
fn snapshot_error<E: Engine>(cx: Ctx<'_, E>, node: &str, source: EngineError) -> ClusterError {
    let node = node.to_string();
    if crate::engine::space::no_space(&source).is_none() {
        return ClusterError::Snapshot { node, source };
    }
    ClusterError::SnapshotNoSpace {
        flag: cx.plan.cluster_flag(),
        engine_full: crate::engine::ran_out_of_space(cx.engine),
        node,
        source: Box::new(source),
    }
}

/// Delete the snapshot images (volumes go with the nodes' removal).
pub async fn remove_images<E: Engine>(cx: Ctx<'_, E>) -> Result<()> {
    for image in cx
        .engine
        .list_images(&[(LABEL_CLUSTER, &cx.plan.name), (LABEL_ROLE, ROLE_SNAPSHOT)])
        .await?
    {
        cx.engine
            .remove_image(&image.id, RemoveImage::Force)
            .await?;
    }
    Ok(())
}
