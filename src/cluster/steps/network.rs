//! The cluster's Docker network: made (or kept, or replaced) as
//! [`decide::network_action`] says, removed by `clean` only when it is ours.

use crate::cluster::state::decide::{self, NetworkAction};
use crate::cluster::{cluster_labels, Ctx, Result};
use crate::engine::{Engine, NetworkSpec};
use crate::labels::{LABEL_CLUSTER, ROLE_NETWORK};

/// Create the cluster network, replacing one of ours with another subnet.
pub async fn ensure<E: Engine>(cx: Ctx<'_, E>) -> Result<()> {
    let plan = cx.plan;
    let existing = cx.engine.inspect_network(&plan.network).await?;
    let all = cx.engine.list_networks().await?;
    match decide::network_action(plan, existing.as_ref(), &all)? {
        NetworkAction::Keep => return Ok(()),
        NetworkAction::Create => {}
        NetworkAction::Replace { old_subnets } => {
            cx.ui.note(format!(
                "network {} has subnet {old_subnets:?}, want {}: recreating it",
                plan.network, plan.subnet
            ));
            cx.engine.remove_network(&plan.network).await?;
        }
    }
    cx.engine
        .create_network(&NetworkSpec {
            name: plan.network.clone(),
            subnet: plan.subnet.to_string(),
            gateway: plan.gateway.to_string(),
            labels: cluster_labels(plan, ROLE_NETWORK),
        })
        .await?;
    Ok(())
}

/// Remove the network, if it is ours.
pub async fn remove<E: Engine>(cx: Ctx<'_, E>) -> Result<()> {
    if let Some(net) = cx.engine.inspect_network(&cx.plan.network).await? {
        if net.labels.get(LABEL_CLUSTER) == Some(&cx.plan.name) {
            cx.engine.remove_network(&cx.plan.network).await?;
        }
    }
    Ok(())
}
