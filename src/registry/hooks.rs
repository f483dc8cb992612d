//! What other commands call: `up`'s two hooks (before the cluster network
//! is made, once the nodes are ready), `clean`'s removal, `status`'s line.

use super::decide::{self, Existing};
use super::ensure::carry_out;
use super::error::{RegistryError, Result};
use super::mirrors::{configure_nodes, mirrors, publish};
use super::plan::{existing_container, find, RegistryPlan};
use crate::cluster::Ctx;
use crate::engine::{ContainerState, Engine};
use crate::labels::{LABEL_REGISTRY, LABEL_REGISTRY_SUBNET};

/// For `up`, before the cluster network is made: a registry made for
/// another subnet is stopped, so that the network can be replaced;
/// [`after_up`] makes it again on the new one.
pub async fn before_network<E: Engine>(cx: Ctx<'_, E>) {
    let stop = async {
        if let Some(c) = existing_container(cx).await? {
            let made_for = c.labels.get(LABEL_REGISTRY_SUBNET);
            if c.state == ContainerState::Running && made_for != Some(&cx.plan.subnet.to_string()) {
                cx.engine.stop_container(&c.name, 10).await?;
            }
        }
        Ok::<_, RegistryError>(())
    };
    if let Err(e) = stop.await {
        cx.ui.warn(format!(
            "could not stop the registry of cluster {:?}: {}",
            cx.plan.name,
            crate::error::chain(&e)
        ));
    }
}

/// For `up`, once the nodes are ready (new or restored from a snapshot):
/// when the cluster has a registry, start it if needed and configure the
/// nodes for it. Problems are warnings: the cluster itself is fine.
pub async fn after_up<E: Engine>(cx: Ctx<'_, E>) {
    let reconcile = async {
        let Some(c) = existing_container(cx).await? else {
            return Ok(None);
        };
        let plan = RegistryPlan::new(cx.plan, None);
        plan.check_address(cx.plan)?;
        let state = Existing::from_labels(c.state == ContainerState::Running, &c.image, &c.labels);
        let action = decide::action(Some(&state), None, &plan.subnet.to_string());
        let registry = carry_out(cx, &plan, &action, Some(&state.image)).await?;
        configure_nodes(cx, &registry).await?;
        publish(cx, &registry).await?;
        Ok::<_, RegistryError>(Some(registry))
    };
    match reconcile.await {
        Ok(Some(registry)) => cx.ui.note(format!(
            "nodes pull localhost:{}/... from the registry {}",
            registry.host_port, registry.container
        )),
        Ok(None) => {}
        Err(e) => cx.ui.warn(format!(
            "the registry of cluster {:?} is not usable: {}",
            cx.plan.name,
            crate::error::chain(&e)
        )),
    }
}

/// For `clean`: remove the registry's container and volume (its images).
pub async fn remove<E: Engine>(cx: Ctx<'_, E>) -> crate::cluster::Result<()> {
    let engine = cx.engine;
    for c in engine
        .list_containers(&[(LABEL_REGISTRY, &cx.plan.name)])
        .await?
    {
        engine.remove_container(&c.name).await?;
    }
    for volume in engine
        .list_volumes(&[(LABEL_REGISTRY, &cx.plan.name)])
        .await?
    {
        engine.remove_volume(&volume).await?;
    }
    Ok(())
}

/// One line for `status`.
pub async fn describe<E: Engine>(cx: Ctx<'_, E>) -> Result<String> {
    Ok(match find(cx).await? {
        None => "none".to_string(),
        Some(r) => {
            let mirrors = if r.running {
                mirrors(cx, &r).await.unwrap_or_default()
            } else {
                Vec::new()
            };
            format!(
                "{} ({}, container {}{})",
                r.host(),
                if r.running { "running" } else { "stopped" },
                r.container,
                if mirrors.is_empty() {
                    String::new()
                } else {
                    format!(", mirror of {}", mirrors.join(", "))
                }
            )
        }
    })
}
