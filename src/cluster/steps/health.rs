//! Asking the engine and the nodes what state the cluster is in, marking
//! a finished `up`, starting a node's units again.

use futures_util::future::join_all;

use crate::cluster::state::health::{parse_probe, probe_script, Health, NodeState, UNITS, UP_MARK};
use crate::cluster::state::plan::NodePlan;
use crate::cluster::steps::node_ops::NodeOp;
use crate::cluster::{Ctx, Result};
use crate::engine::{ContainerState, Engine};
use crate::labels::LABEL_CLUSTER;

/// Look at every node of the cluster (in parallel). A node of the plan
/// counts when it has a container or its /var volume: a plan with more
/// nodes than the cluster was made with (other settings) does not make the
/// running cluster broken, while a removed node (its volume stays) does.
pub async fn inspect<E: Engine>(cx: Ctx<'_, E>) -> Result<Health> {
    let found = cx.node_states().await?;
    let volumes = cx
        .engine
        .list_volumes(&[(LABEL_CLUSTER, &cx.plan.name)])
        .await?;
    let states = join_all(
        cx.plan
            .nodes
            .iter()
            .filter(|node| {
                found.contains_key(&node.container) || volumes.contains(&node.var_volume)
            })
            .map(|node| {
                let running = found.get(&node.container).copied();
                async move {
                    let state = match running {
                        None => NodeState::Missing,
                        Some(ContainerState::NotRunning) => {
                            NodeState::Stopped(stopped_status(cx, node).await)
                        }
                        Some(ContainerState::Paused) => NodeState::Paused,
                        Some(ContainerState::Running) => ask(cx, node).await,
                    };
                    (node.clone(), state)
                }
            }),
    )
    .await;
    Ok(Health { nodes: states })
}

async fn stopped_status<E: Engine>(cx: Ctx<'_, E>, node: &NodePlan) -> String {
    match cx.engine.inspect_container(&node.container).await {
        Ok(Some(details)) => details.status,
        Ok(None) => "removed".to_string(),
        Err(e) => crate::error::chain(&e),
    }
}

async fn ask<E: Engine>(cx: Ctx<'_, E>, node: &NodePlan) -> NodeState {
    // A node whose init hangs may not answer an exec: do not wait forever.
    let asked = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        NodeOp::HealthProbe.exec(cx.engine, &node.container, &["sh", "-c", &probe_script()]),
    )
    .await;
    match asked {
        Err(_) => NodeState::Unreachable("no answer within 20s".to_string()),
        Ok(Err(e)) => NodeState::Unreachable(crate::error::chain(&e)),
        Ok(Ok(out)) => parse_probe(&out.stdout_text()),
    }
}

/// Mark every node: the `up` that made, restored or repaired it finished.
pub async fn mark_finished<E: Engine>(cx: Ctx<'_, E>) -> Result<()> {
    let dir = UP_MARK.rsplit_once('/').map(|(d, _)| d).unwrap_or("/run");
    let script = format!("mkdir -p {dir} && touch {UP_MARK}");
    let argv = ["sh", "-c", script.as_str()];
    futures_util::future::try_join_all(
        cx.plan
            .nodes
            .iter()
            .map(|node| NodeOp::MarkFinished.run(cx.engine, &node.container, &argv)),
    )
    .await?;
    Ok(())
}

/// Restart every node's kubelet (their pods keep running). After a thaw
/// the API calls the nodes NotReady (their leases ran out while they
/// slept) until each kubelet reports, which it does every 10 s, or at once
/// when it starts. Best effort: a node that cannot be asked (gone, broken)
/// shows in the wait for the cluster that follows.
pub async fn restart_kubelets<E: Engine>(cx: Ctx<'_, E>) {
    join_all(cx.plan.nodes.iter().map(|node| restart_kubelet(cx, node))).await;
}

/// Restart `node`'s kubelet (its pods keep running); best effort, as
/// [`restart_kubelets`].
pub async fn restart_kubelet<E: Engine>(cx: Ctx<'_, E>, node: &NodePlan) {
    let argv = ["systemctl", "restart", "kubelet"];
    let _ = NodeOp::RestartKubelet
        .exec(cx.engine, &node.container, &argv)
        .await;
}

/// Start a node's units again; true when all are active afterwards.
pub async fn restart_units<E: Engine>(cx: Ctx<'_, E>, node: &NodePlan) -> bool {
    let script = format!(
        "systemctl reset-failed {units} >/dev/null 2>&1; systemctl restart {units} && \
         sleep 3 && systemctl is-active {units}",
        units = UNITS.join(" ")
    );
    matches!(
        NodeOp::RestartUnits.exec(cx.engine, &node.container, &["sh", "-c", &script]).await,
        Ok(out) if out.exit_code == 0
    )
}
