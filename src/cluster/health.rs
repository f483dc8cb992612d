//! What state a cluster's nodes are in, judged from the engine and from the
//! nodes themselves: is each container there and running, did an `up`
//! finish with it, do its containerd and kubelet run.
//!
//! An `up` that finished marks every node with a file in its `/run`. `/run`
//! is a tmpfs: the mark is not part of a snapshot and is gone when a
//! container starts again (an engine restart, a node replaced). So a cluster
//! whose running nodes carry no mark was left by an interrupted `up` (or
//! restarted under it), and a node without the mark beside marked ones was
//! started by something other than a finished `up`.

use futures_util::future::join_all;

use super::plan::NodePlan;
use super::{Ctx, Result};
use crate::engine::Engine;

/// The file a finished `up` leaves on every node.
pub const UP_MARK: &str = "/run/kubeadm-local-cluster/up-finished";

/// The units a node needs, in the order they start.
pub const UNITS: &[&str] = &["containerd", "kubelet"];

/// One node, as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeState {
    /// No container.
    Missing,
    /// The container exists and does not run (killed, exited, engine restart).
    Stopped(String),
    Running {
        /// A finished `up` marked it.
        marked: bool,
        /// Needed units that are not active, with their state.
        down: Vec<(String, String)>,
    },
    /// It runs but cannot be asked (the exec failed).
    Unreachable(String),
}

impl NodeState {
    fn is_marked(&self) -> bool {
        matches!(self, NodeState::Running { marked: true, .. })
    }

    /// Running, finished by an `up`, its units active.
    fn is_fine(&self) -> bool {
        matches!(self, NodeState::Running { marked: true, down } if down.is_empty())
    }

    /// How `status` shows it.
    pub fn describe(&self) -> String {
        match self {
            NodeState::Missing => "missing (no container)".to_string(),
            NodeState::Stopped(status) => format!("stopped ({status})"),
            NodeState::Running { marked, down } => {
                let mut text = "running".to_string();
                if !down.is_empty() {
                    let units: Vec<String> = down.iter().map(|(u, s)| format!("{u} {s}")).collect();
                    text.push_str(&format!("; not active: {}", units.join(", ")));
                }
                if !marked {
                    text.push_str("; not finished by `up`");
                }
                text
            }
            NodeState::Unreachable(why) => format!("running but not answering ({why})"),
        }
    }
}

/// Every node of the plan, in plan order.
#[derive(Debug, Clone)]
pub struct Health {
    pub nodes: Vec<(NodePlan, NodeState)>,
}

/// What `up` makes of a [`Health`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// No node container at all.
    Absent,
    /// Every node runs, marked, with its units active.
    Healthy,
    /// No running node carries the mark: an `up` did not finish (or the
    /// nodes all started again since). The cluster as a whole is redone.
    Unfinished,
    /// A finished cluster with some nodes broken; the rest are fine.
    Broken {
        /// Nodes whose units are to be started again (container fine).
        restart: Vec<String>,
        /// Nodes to be replaced from the snapshot.
        replace: Vec<String>,
    },
}

impl Health {
    pub fn condition(&self) -> Condition {
        if self.nodes.iter().all(|(_, s)| *s == NodeState::Missing) {
            return Condition::Absent;
        }
        if !self.nodes.iter().any(|(_, s)| s.is_marked()) {
            return Condition::Unfinished;
        }
        let mut restart = Vec::new();
        let mut replace = Vec::new();
        for (node, state) in &self.nodes {
            match state {
                s if s.is_fine() => {}
                s if s.is_marked() => restart.push(node.name.clone()),
                _ => replace.push(node.name.clone()),
            }
        }
        if restart.is_empty() && replace.is_empty() {
            Condition::Healthy
        } else {
            Condition::Broken { restart, replace }
        }
    }

    /// One line per node that is not fine, for messages.
    pub fn problems(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|(_, s)| !s.is_fine())
            .map(|(n, s)| format!("{}: {}", n.name, s.describe()))
            .collect()
    }
}

/// Look at every node of the cluster (in parallel). A node of the plan
/// counts when it has a container or its /var volume: a plan with more
/// nodes than the cluster was made with (other settings) does not make the
/// running cluster broken, while a removed node (its volume stays) does.
pub async fn inspect<E: Engine>(cx: Ctx<'_, E>) -> Result<Health> {
    let found = cx.node_containers().await?;
    let volumes = cx
        .engine
        .list_volumes(&[(crate::engine::LABEL_CLUSTER, &cx.plan.name)])
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
                        Some(false) => NodeState::Stopped(stopped_status(cx, node).await),
                        Some(true) => ask(cx, node).await,
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

/// The script run in a node: the mark, then each unit's state.
fn probe_script() -> String {
    format!(
        "if [ -e {UP_MARK} ]; then echo marked; else echo unmarked; fi; \
         for u in {}; do echo \"$u $(systemctl is-active $u 2>/dev/null)\"; done",
        UNITS.join(" ")
    )
}

async fn ask<E: Engine>(cx: Ctx<'_, E>, node: &NodePlan) -> NodeState {
    // A node whose init hangs may not answer an exec: do not wait forever.
    let asked = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        cx.engine.exec(
            &node.container,
            &["sh", "-c", &probe_script()],
            Default::default(),
        ),
    )
    .await;
    match asked {
        Err(_) => NodeState::Unreachable("no answer within 20s".to_string()),
        Ok(Err(e)) => NodeState::Unreachable(crate::error::chain(&e)),
        Ok(Ok(out)) => parse_probe(&out.stdout_text()),
    }
}

fn parse_probe(text: &str) -> NodeState {
    let mut lines = text.lines();
    let marked = lines.next().map(str::trim) == Some("marked");
    let down = lines
        .filter_map(|line| line.split_once(' '))
        .filter(|(_, state)| state.trim() != "active")
        .map(|(unit, state)| {
            let state = match state.trim() {
                "" => "unknown",
                s => s,
            };
            (unit.to_string(), state.to_string())
        })
        .collect();
    NodeState::Running { marked, down }
}

/// Mark every node: the `up` that made, restored or repaired it finished.
pub async fn mark_finished<E: Engine>(cx: Ctx<'_, E>) -> Result<()> {
    let dir = UP_MARK.rsplit_once('/').map(|(d, _)| d).unwrap_or("/run");
    let script = format!("mkdir -p {dir} && touch {UP_MARK}");
    futures_util::future::try_join_all(
        cx.plan
            .nodes
            .iter()
            .map(|node| cx.engine.sh(&node.container, &script)),
    )
    .await?;
    Ok(())
}

/// Start a node's units again; true when all are active afterwards.
pub async fn restart_units<E: Engine>(cx: Ctx<'_, E>, node: &NodePlan) -> bool {
    let script = format!(
        "systemctl reset-failed {units} >/dev/null 2>&1; systemctl restart {units} && \
         sleep 3 && systemctl is-active {units}",
        units = UNITS.join(" ")
    );
    matches!(
        cx.engine.exec(&node.container, &["sh", "-c", &script], Default::default()).await,
        Ok(out) if out.exit_code == 0
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::tests::cluster_c as plan;

    fn health(states: Vec<NodeState>) -> Health {
        let plan = plan(&[]);
        Health {
            nodes: plan.nodes.iter().cloned().zip(states).collect(),
        }
    }

    fn fine() -> NodeState {
        NodeState::Running {
            marked: true,
            down: vec![],
        }
    }

    #[test]
    fn the_probe_output_is_read_into_the_mark_and_the_units_not_active() {
        assert_eq!(
            parse_probe("marked\ncontainerd active\nkubelet inactive\n"),
            NodeState::Running {
                marked: true,
                down: vec![("kubelet".into(), "inactive".into())]
            }
        );
        assert_eq!(
            parse_probe("unmarked\ncontainerd \nkubelet active\n"),
            NodeState::Running {
                marked: false,
                down: vec![("containerd".into(), "unknown".into())]
            }
        );
        assert!(probe_script().contains("for u in containerd kubelet"));
    }

    #[test]
    fn conditions_follow_from_the_nodes() {
        let n = plan(&[]).nodes.len();
        assert!(n >= 3, "the test plan has workers");
        assert_eq!(
            health(vec![NodeState::Missing; n]).condition(),
            Condition::Absent
        );
        assert_eq!(health(vec![fine(); n]).condition(), Condition::Healthy);
        // An interrupted up: running, never marked.
        let unmarked = NodeState::Running {
            marked: false,
            down: vec![],
        };
        assert_eq!(
            health(vec![unmarked.clone(); n]).condition(),
            Condition::Unfinished
        );
        // Every node stopped (an engine restart): nothing marked is running.
        assert_eq!(
            health(vec![NodeState::Stopped("Exited (137)".into()); n]).condition(),
            Condition::Unfinished
        );
        // One worker killed, one with its kubelet stopped, one replaced but
        // not finished: the others carry on.
        let mut states = vec![fine(); n];
        states[1] = NodeState::Stopped("Exited (137)".into());
        states[2] = NodeState::Running {
            marked: true,
            down: vec![("kubelet".into(), "inactive".into())],
        };
        let h = health(states.clone());
        let names: Vec<String> = h.nodes.iter().map(|(p, _)| p.name.clone()).collect();
        assert_eq!(
            h.condition(),
            Condition::Broken {
                restart: vec![names[2].clone()],
                replace: vec![names[1].clone()],
            }
        );
        assert_eq!(
            h.problems(),
            vec![
                format!("{}: stopped (Exited (137))", names[1]),
                format!("{}: running; not active: kubelet inactive", names[2]),
            ]
        );
        // The master is as replaceable as a worker.
        states = vec![fine(); n];
        states[0] = unmarked;
        assert_eq!(
            health(states).condition(),
            Condition::Broken {
                restart: vec![],
                replace: vec![names[0].clone()],
            }
        );
    }
}
