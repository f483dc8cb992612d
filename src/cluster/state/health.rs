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

use crate::cluster::state::plan::NodePlan;

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
    /// Frozen by `pause`.
    Paused,
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
            NodeState::Paused => "paused".to_string(),
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
    /// Some node is paused (`pause`): frozen, not broken; `unpause` or `up`
    /// thaws it.
    Paused,
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
        if self.nodes.iter().any(|(_, s)| *s == NodeState::Paused) {
            return Condition::Paused;
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

/// The script run in a node: the mark, then each unit's state.
pub fn probe_script() -> String {
    format!(
        "if [ -e {UP_MARK} ]; then echo marked; else echo unmarked; fi; \
         for u in {}; do echo \"$u $(systemctl is-active $u 2>/dev/null)\"; done",
        UNITS.join(" ")
    )
}

pub fn parse_probe(text: &str) -> NodeState {
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
