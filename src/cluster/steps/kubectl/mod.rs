//! Talking to the cluster with the kubectl inside the master node: no
//! host-side Kubernetes client to build, and it always matches the cluster.

use std::time::Duration;

// tokio's clock, which tests can pause and advance.
use tokio::time::Instant;

use serde::Deserialize;

mod objects;

use objects::{still_awaited, List, Node, Object};
pub use objects::{Fresh, NodeStatus, Pod};

use crate::cluster::steps::node_ops::NodeOp;
use crate::cluster::{ClusterError, Ctx, Result};
use crate::engine::{Engine, ExecRequest};
use crate::ui::Step;

pub const ADMIN_CONF: &str = "/etc/kubernetes/admin.conf";

pub struct Kubectl<'a, E> {
    engine: &'a E,
    container: String,
}

impl<'a, E: Engine> Kubectl<'a, E> {
    pub fn new(engine: &'a E, master_container: &str) -> Kubectl<'a, E> {
        Kubectl {
            engine,
            container: master_container.to_string(),
        }
    }

    fn argv<'b>(&self, args: &[&'b str]) -> Vec<&'b str> {
        let mut argv = vec!["kubectl", "--kubeconfig", ADMIN_CONF];
        argv.extend_from_slice(args);
        argv
    }

    async fn run_with(&self, args: &[&str], request: ExecRequest<'_>) -> Result<String> {
        self.engine
            .run_with(&self.container, &self.argv(args), request)
            .await
            .map(|out| out.stdout_text())
            .map_err(|source| ClusterError::Kubectl {
                args: args.join(" "),
                source,
            })
    }

    /// Run kubectl; fails (with its output) on a non-zero exit.
    pub async fn run(&self, args: &[&str]) -> Result<String> {
        self.run_with(args, ExecRequest::default()).await
    }

    pub async fn json<T: for<'de> Deserialize<'de>>(&self, args: &[&str]) -> Result<T> {
        self.json_with(args, ExecRequest::default()).await
    }

    /// [`json`](Self::json) for a named operation (what tests answer).
    pub async fn json_of<T: for<'de> Deserialize<'de>>(
        &self,
        op: NodeOp,
        args: &[&str],
    ) -> Result<T> {
        self.json_with(args, op.request()).await
    }

    async fn json_with<T: for<'de> Deserialize<'de>>(
        &self,
        args: &[&str],
        request: ExecRequest<'_>,
    ) -> Result<T> {
        let mut all = args.to_vec();
        all.extend_from_slice(&["-o", "json"]);
        let out = self.run_with(&all, request).await?;
        serde_json::from_str(&out).map_err(|source| ClusterError::KubectlOutput {
            args: args.join(" "),
            source,
        })
    }

    /// `kubectl apply -f -` with the manifest on stdin.
    pub async fn apply(&self, manifest: &str) -> Result<String> {
        self.run_with(
            &["apply", "-f", "-"],
            ExecRequest {
                stdin: Some(manifest.as_bytes()),
                ..Default::default()
            },
        )
        .await
    }

    pub async fn nodes(&self) -> Result<Vec<NodeStatus>> {
        let list: List<Node> = self.json_of(NodeOp::NodeList, &["get", "nodes"]).await?;
        Ok(list.items.into_iter().map(Node::into_status).collect())
    }

    /// Wait until `expected` nodes are Ready, CoreDNS is available and
    /// kube-proxy runs on every node, counting only what is `fresh`.
    /// Progress goes to `step`. `held_back` is called once for each node
    /// whose kubelet holds back a kube-proxy or CoreDNS container
    /// ([`objects::nodes_holding_back`]).
    pub async fn wait_ready(
        &self,
        expected: usize,
        network: bool,
        timeout: Duration,
        fresh: Fresh<'_>,
        step: &Step<'_>,
        mut held_back: impl AsyncFnMut(&str),
    ) -> Result<()> {
        let start = Instant::now();
        let mut kicked = std::collections::BTreeSet::new();
        let mut last = String::from("the API server did not answer");
        // The last state noted: the wait's timeline, each change once.
        let mut shown: Option<String> = None;
        while start.elapsed() < timeout {
            // One kubectl call per round: each costs an exec and a process
            // start, which is most of a round on a busy 2-core machine.
            let objects = self
                .json_of::<List<Object>>(
                    NodeOp::ClusterObjects,
                    &["-n", "kube-system", "get", "nodes,pods,deployments"],
                )
                .await;
            match objects {
                Ok(list) => match still_awaited(&list.items, expected, network, fresh) {
                    None => return Ok(()),
                    Some(waiting_for) => {
                        last = waiting_for;
                        for node in objects::nodes_holding_back(&list.items) {
                            if kicked.insert(node.clone()) {
                                step.milestone(format!("{node} holds a system pod back"));
                                held_back(&node).await;
                            }
                        }
                    }
                },
                Err(e) => last = crate::error::chain(&e),
            }
            if shown.as_deref() != Some(last.as_str()) {
                step.milestone(&last);
                shown = Some(last.clone());
            }
            step.set_message(&last);
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Err(ClusterError::NotReady {
            secs: timeout.as_secs(),
            last,
        })
    }
}

/// What the API server says of each node, for `status`: one line each, or
/// one line saying why it could not be asked.
pub async fn node_readiness<E: crate::engine::Engine>(
    cx: crate::cluster::Ctx<'_, E>,
) -> Vec<String> {
    let asked =
        tokio::time::timeout(std::time::Duration::from_secs(20), cx.kubectl().nodes()).await;
    match asked {
        Err(_) => vec!["API server: no answer within 20s".to_string()],
        Ok(Err(e)) => vec![format!(
            "API server: not answering ({})",
            crate::error::chain(&e).lines().next().unwrap_or_default()
        )],
        Ok(Ok(nodes)) => nodes
            .iter()
            .map(|n| {
                format!(
                    "API server: node {} {} (last heartbeat {})",
                    n.name,
                    if n.ready { "Ready" } else { "NotReady" },
                    if n.heartbeat.is_empty() {
                        "never"
                    } else {
                        &n.heartbeat
                    }
                )
            })
            .collect(),
    }
}

impl<'a, E: Engine> Ctx<'a, E> {
    /// kubectl in the master node.
    pub fn kubectl(&self) -> Kubectl<'a, E> {
        Kubectl::new(self.engine, &self.plan.master().container)
    }
}

#[cfg(test)]
mod tests;
