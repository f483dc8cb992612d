//! Talking to the cluster with the kubectl inside the master node: no
//! host-side Kubernetes client to build, and it always matches the cluster.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::engine::exec::ExecRequest;
use crate::engine::Engine;
use crate::ui::Step;

pub const ADMIN_CONF: &str = "/etc/kubernetes/admin.conf";

pub struct Kubectl<'a> {
    engine: &'a Engine,
    container: String,
}

impl<'a> Kubectl<'a> {
    pub fn new(engine: &'a Engine, master_container: &str) -> Kubectl<'a> {
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

    /// Run kubectl; fails (with its output) on a non-zero exit.
    pub async fn run(&self, args: &[&str]) -> Result<String> {
        Ok(self.engine.exec(&self.container, &self.argv(args)).await?)
    }

    pub async fn json<T: for<'de> Deserialize<'de>>(&self, args: &[&str]) -> Result<T> {
        let mut all = args.to_vec();
        all.extend_from_slice(&["-o", "json"]);
        let out = self.run(&all).await?;
        serde_json::from_str(&out)
            .with_context(|| format!("unexpected output of kubectl {}", args.join(" ")))
    }

    /// `kubectl apply -f -` with the manifest on stdin.
    pub async fn apply(&self, manifest: &str) -> Result<String> {
        let out = self
            .engine
            .exec_with(
                &self.container,
                &self.argv(&["apply", "-f", "-"]),
                ExecRequest {
                    stdin: Some(manifest.as_bytes()),
                    ..Default::default()
                },
            )
            .await?;
        Ok(out.stdout)
    }

    pub async fn nodes(&self) -> Result<Vec<NodeStatus>> {
        let list: List<Node> = self.json(&["get", "nodes"]).await?;
        Ok(list
            .items
            .into_iter()
            .map(|n| NodeStatus {
                ready: n
                    .status
                    .conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True"),
                heartbeat: n
                    .status
                    .conditions
                    .iter()
                    .find(|c| c.type_ == "Ready")
                    .and_then(|c| c.last_heartbeat_time.clone())
                    .unwrap_or_default(),
                name: n.metadata.name,
                pod_cidr: n.spec.pod_cidr,
            })
            .collect())
    }

    /// Wait until `expected` nodes are Ready, CoreDNS is available and
    /// kube-proxy runs on every node. With `since` (after a restore, when the
    /// API still shows the state from before the shutdown) only node
    /// heartbeats and pod starts after that time count. Progress goes to `step`.
    pub async fn wait_ready(
        &self,
        expected: usize,
        timeout: Duration,
        since: Option<&str>,
        step: &Step,
    ) -> Result<()> {
        let start = Instant::now();
        let mut last = String::from("the API server did not answer");
        while start.elapsed() < timeout {
            match self.readiness(expected, since.unwrap_or("")).await {
                Ok(None) => return Ok(()),
                Ok(Some(waiting_for)) => last = waiting_for,
                Err(e) => last = format!("{e:#}"),
            }
            step.set_message(&last);
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        bail!(
            "the cluster was not ready after {}s: {last}",
            timeout.as_secs()
        )
    }

    /// None when ready, otherwise what is still awaited. Timestamps are
    /// RFC 3339 in UTC, so they compare as strings.
    async fn readiness(&self, expected: usize, since: &str) -> Result<Option<String>> {
        let nodes = self.nodes().await?;
        let ready = nodes
            .iter()
            .filter(|n| n.ready && n.heartbeat.as_str() >= since)
            .count();
        if nodes.len() < expected || ready < expected {
            let missing: Vec<&str> = nodes
                .iter()
                .filter(|n| !(n.ready && n.heartbeat.as_str() >= since))
                .map(|n| n.name.as_str())
                .collect();
            return Ok(Some(format!(
                "{ready}/{expected} nodes Ready{}",
                if missing.is_empty() {
                    String::new()
                } else {
                    format!(" (waiting for {})", missing.join(", "))
                }
            )));
        }
        let proxies = self.ready_pods("k8s-app=kube-proxy", since).await?;
        if proxies < expected {
            return Ok(Some(format!(
                "kube-proxy ready on {proxies}/{expected} nodes"
            )));
        }
        let dns: Deployment = self
            .json(&["-n", "kube-system", "get", "deployment", "coredns"])
            .await?;
        let want = dns.spec.replicas.unwrap_or(1) as usize;
        let have = self.ready_pods("k8s-app=kube-dns", since).await?;
        if have < want {
            return Ok(Some(format!("CoreDNS {have}/{want} ready")));
        }
        Ok(None)
    }

    /// kube-system pods matching `selector` that are Ready, with every
    /// container started at or after `since`.
    async fn ready_pods(&self, selector: &str, since: &str) -> Result<usize> {
        let pods: List<Pod> = self
            .json(&["-n", "kube-system", "get", "pods", "-l", selector])
            .await?;
        Ok(pods
            .items
            .iter()
            .filter(|p| {
                let ready = p
                    .status
                    .conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True");
                let fresh = p.status.container_statuses.iter().all(|c| {
                    c.state
                        .running
                        .as_ref()
                        .is_some_and(|r| r.started_at.as_deref().unwrap_or("") >= since)
                });
                ready && fresh && !p.status.container_statuses.is_empty()
            })
            .count())
    }
}

#[derive(Debug, Clone)]
pub struct NodeStatus {
    pub name: String,
    pub ready: bool,
    /// lastHeartbeatTime of the Ready condition.
    pub heartbeat: String,
    pub pod_cidr: Option<String>,
}

#[derive(Deserialize)]
struct List<T> {
    items: Vec<T>,
}

#[derive(Deserialize)]
struct Node {
    metadata: Meta,
    #[serde(default)]
    spec: NodeSpec,
    #[serde(default)]
    status: NodeStatusJson,
}

#[derive(Deserialize)]
struct Meta {
    name: String,
}

#[derive(Deserialize, Default)]
struct NodeSpec {
    #[serde(rename = "podCIDR")]
    pod_cidr: Option<String>,
}

#[derive(Deserialize, Default)]
struct NodeStatusJson {
    #[serde(default)]
    conditions: Vec<Condition>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Condition {
    #[serde(rename = "type")]
    type_: String,
    status: String,
    last_heartbeat_time: Option<String>,
}

#[derive(Deserialize)]
struct Pod {
    #[serde(default)]
    status: PodStatus,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PodStatus {
    #[serde(default)]
    conditions: Vec<Condition>,
    #[serde(default)]
    container_statuses: Vec<ContainerStatus>,
}

#[derive(Deserialize)]
struct ContainerStatus {
    #[serde(default)]
    state: ContainerState,
}

#[derive(Deserialize, Default)]
struct ContainerState {
    running: Option<Running>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Running {
    started_at: Option<String>,
}

#[derive(Deserialize)]
struct Deployment {
    #[serde(default)]
    spec: DeploymentSpec,
}

#[derive(Deserialize, Default)]
struct DeploymentSpec {
    replicas: Option<i64>,
}
