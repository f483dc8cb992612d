//! Installing the pod network once nodes have registered and got their pod
//! ranges; what each plugin installs lives in [`crate::cni`].

use std::time::Duration;

use futures_util::future::try_join_all;

use crate::cluster::state::plan::NodePlan;
use crate::cluster::{ClusterError, Ctx, Result};
use crate::cni::{self, NetworkNode};
use crate::engine::Engine;
use crate::settings::CniPlugin;

/// Install the pod network on `nodes` (a subset, after they registered).
pub async fn install<E: Engine>(
    cx: Ctx<'_, E>,
    prepared: &cni::Install,
    nodes: &[&NodePlan],
) -> Result<()> {
    let plan = cx.plan;
    match plan.cni {
        CniPlugin::Bridge => {}
        CniPlugin::None => return Ok(()),
        CniPlugin::Flannel | CniPlugin::KubeRouter | CniPlugin::Calico | CniPlugin::Weave => {
            return install_manifest(cx, prepared, nodes).await
        }
    }
    let kubectl = cx.kubectl();
    // Pod ranges are allocated when nodes register; wait for each one's.
    let mut all = Vec::new();
    for attempt in 0.. {
        let statuses = kubectl.nodes().await?;
        all = plan
            .nodes
            .iter()
            .filter_map(|n| {
                let status = statuses.iter().find(|s| s.name == n.name)?;
                Some(NetworkNode {
                    container: n.container.clone(),
                    name: n.name.clone(),
                    ip: n.ip,
                    pod_cidr: status.pod_cidr.as_deref()?.parse().ok()?,
                })
            })
            .collect::<Vec<_>>();
        if nodes.iter().all(|n| all.iter().any(|a| a.name == n.name)) {
            break;
        }
        if attempt > 120 {
            return Err(ClusterError::NoPodRanges);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Every node that has a range learns every other's (routes are idempotent).
    try_join_all(all.iter().map(|n| {
        let all = &all;
        async move {
            cni::bridge::install(cx.engine, n, all, plan.pod_subnet)
                .await
                .map_err(|source| ClusterError::PodNetwork {
                    node: n.name.clone(),
                    source,
                })
        }
    }))
    .await?;
    Ok(())
}

/// A pod network that runs as pods: with the master (the first call), its
/// images go into every node before any joins, so no kubelet ever tries to
/// pull them, and its manifest is applied; workers need nothing more.
async fn install_manifest<E: Engine>(
    cx: Ctx<'_, E>,
    install: &cni::Install,
    nodes: &[&NodePlan],
) -> Result<()> {
    let plan = cx.plan;
    if !nodes.iter().any(|n| n.name == plan.master().name) {
        return Ok(());
    }
    if !install.images.is_empty() {
        let containers: Vec<String> = plan.nodes.iter().map(|n| n.container.clone()).collect();
        crate::cluster::steps::images::import_archives_into(cx, &install.images, &containers)
            .await?;
    }
    let manifest = install
        .manifest
        .as_deref()
        .ok_or(ClusterError::PodNetworkNotPrepared {
            plugin: plan.cni.as_str(),
        })?;
    cx.kubectl().apply(manifest).await?;
    Ok(())
}
