//! Talking to the cluster with the kubectl inside the master node: no
//! host-side Kubernetes client to build, and it always matches the cluster.

use std::time::Duration;

// tokio's clock, which tests can pause and advance.
use tokio::time::Instant;

use serde::Deserialize;

use super::node_ops::NodeOp;
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
    /// kube-proxy runs on every node. With `since` (after a restore, when the
    /// API still shows the state from before the shutdown) only node
    /// heartbeats and pod starts after that time count. Progress goes to `step`.
    pub async fn wait_ready(
        &self,
        expected: usize,
        network: bool,
        timeout: Duration,
        since: Option<&str>,
        step: &Step<'_>,
    ) -> Result<()> {
        let start = Instant::now();
        let mut last = String::from("the API server did not answer");
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
                Ok(list) => {
                    match still_awaited(&list.items, expected, network, since.unwrap_or("")) {
                        None => return Ok(()),
                        Some(waiting_for) => last = waiting_for,
                    }
                }
                Err(e) => last = crate::error::chain(&e),
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

/// What the cluster still lacks (None when ready): `expected` nodes Ready,
/// kube-proxy Ready on each, every CoreDNS replica Ready. Without a pod
/// `network` nodes never become Ready and CoreDNS never starts, so only
/// their registration counts. Only heartbeats and container starts at or
/// after `since` count. Timestamps are RFC 3339 in UTC, so they compare as
/// strings.
fn still_awaited(
    objects: &[Object],
    expected: usize,
    network: bool,
    since: &str,
) -> Option<String> {
    let nodes: Vec<NodeStatus> = objects
        .iter()
        .filter_map(|o| match o {
            Object::Node(n) => Some(n.clone().into_status()),
            _ => None,
        })
        .collect();
    if !network {
        let fresh = nodes
            .iter()
            .filter(|n| n.heartbeat.as_str() >= since)
            .count();
        return (fresh < expected).then(|| {
            format!(
                "{fresh}/{expected} nodes registered (NotReady until a pod network is installed)"
            )
        });
    }
    let fresh_ready = |n: &&NodeStatus| n.ready && n.heartbeat.as_str() >= since;
    let ready = nodes.iter().filter(fresh_ready).count();
    if nodes.len() < expected || ready < expected {
        let missing: Vec<&str> = nodes
            .iter()
            .filter(|n| !fresh_ready(n))
            .map(|n| n.name.as_str())
            .collect();
        return Some(format!(
            "{ready}/{expected} nodes Ready{}",
            if missing.is_empty() {
                String::new()
            } else {
                format!(" (waiting for {})", missing.join(", "))
            }
        ));
    }
    let ready_pods = |app: &str| {
        objects
            .iter()
            .filter(|o| match o {
                Object::Pod(p) => {
                    p.metadata.labels.get("k8s-app").map(String::as_str) == Some(app)
                        && p.is_ready_since(since)
                }
                _ => false,
            })
            .count()
    };
    let proxies = ready_pods("kube-proxy");
    if proxies < expected {
        return Some(format!("kube-proxy ready on {proxies}/{expected} nodes"));
    }
    let want = objects
        .iter()
        .find_map(|o| match o {
            Object::Deployment(d) if d.metadata.name == "coredns" => Some(d.spec.replicas),
            _ => None,
        })
        .map(|r| r.unwrap_or(1) as usize);
    let Some(want) = want else {
        return Some("the CoreDNS deployment is missing".to_string());
    };
    let have = ready_pods("kube-dns");
    if have < want {
        return Some(format!("CoreDNS {have}/{want} ready"));
    }
    None
}

#[derive(Debug, Clone)]
pub struct NodeStatus {
    pub name: String,
    pub ready: bool,
    /// lastHeartbeatTime of the Ready condition.
    pub heartbeat: String,
    pub pod_cidr: Option<String>,
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

#[derive(Deserialize)]
struct List<T> {
    items: Vec<T>,
}

/// An item of a mixed `kubectl get nodes,pods,deployments` list.
#[derive(Deserialize)]
#[serde(tag = "kind")]
enum Object {
    Node(Node),
    Pod(Pod),
    Deployment(Deployment),
}

#[derive(Deserialize, Clone)]
struct Node {
    metadata: Meta,
    #[serde(default)]
    spec: NodeSpec,
    #[serde(default)]
    status: NodeStatusJson,
}

impl Node {
    fn into_status(self) -> NodeStatus {
        let ready = self.status.conditions.iter().find(|c| c.type_ == "Ready");
        NodeStatus {
            ready: ready.is_some_and(|c| c.status == "True"),
            heartbeat: ready
                .and_then(|c| c.last_heartbeat_time.clone())
                .unwrap_or_default(),
            name: self.metadata.name,
            pod_cidr: self.spec.pod_cidr,
        }
    }
}

#[derive(Deserialize, Clone)]
struct Meta {
    name: String,
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize, Default, Clone)]
struct NodeSpec {
    #[serde(rename = "podCIDR")]
    pod_cidr: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
struct NodeStatusJson {
    #[serde(default)]
    conditions: Vec<Condition>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Condition {
    #[serde(rename = "type")]
    type_: String,
    status: String,
    last_heartbeat_time: Option<String>,
}

/// A pod in the API, as far as it is read here.
#[derive(Deserialize)]
pub struct Pod {
    metadata: Meta,
    #[serde(default)]
    status: PodStatus,
}

impl Pod {
    /// Ready, with every container started at or after `since`.
    fn is_ready_since(&self, since: &str) -> bool {
        let ready = self
            .status
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        let statuses = &self.status.container_statuses;
        let fresh = statuses.iter().all(|c| {
            c.state
                .running
                .as_ref()
                .is_some_and(|r| r.started_at.as_deref().unwrap_or("") >= since)
        });
        ready && fresh && !statuses.is_empty()
    }

    /// Does a ready container of `reference` (a tag unique to a build)
    /// show? The status may name it with or without the registry (a static
    /// pod's mirror reports its new container a few seconds after it runs).
    pub fn runs(&self, reference: &str) -> bool {
        let tag = reference.rsplit_once(':').map_or(reference, |(_, tag)| tag);
        self.status
            .container_statuses
            .iter()
            .any(|c| c.ready && c.image.ends_with(&format!(":{tag}")))
    }
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
    #[serde(default)]
    image: String,
    #[serde(default)]
    ready: bool,
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
    metadata: Meta,
    #[serde(default)]
    spec: DeploymentSpec,
}

#[derive(Deserialize, Default)]
struct DeploymentSpec {
    replicas: Option<i64>,
}

impl<'a, E: Engine> Ctx<'a, E> {
    /// kubectl in the master node.
    pub fn kubectl(&self) -> Kubectl<'a, E> {
        Kubectl::new(self.engine, &self.plan.master().container)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mirror_pod_runs_the_build_once_a_ready_container_of_its_tag_shows() {
        let pod = |json: &str| serde_json::from_str::<Pod>(json).unwrap();
        let new = "registry.k8s.io/kube-apiserver:v1.37.2-dirty-0123abcd";
        let old = r#"{"metadata": {"name": "m"}, "status": {"containerStatuses": [
            {"image": "registry.k8s.io/kube-apiserver:v1.37.2", "ready": true}]}}"#;
        assert!(!pod(old).runs(new));
        let starting = r#"{"metadata": {"name": "m"}, "status": {"containerStatuses": [
            {"image": "registry.k8s.io/kube-apiserver:v1.37.2-dirty-0123abcd", "ready": false}]}}"#;
        assert!(!pod(starting).runs(new));
        let running = r#"{"metadata": {"name": "m"}, "status": {"containerStatuses": [
            {"image": "kube-apiserver:v1.37.2-dirty-0123abcd", "ready": true}]}}"#;
        assert!(pod(running).runs(new));
        assert!(!pod(r#"{"metadata": {"name": "m"}}"#).runs(new));
    }

    const BEFORE: &str = "2026-01-01T10:00:00Z";
    const SINCE: &str = "2026-01-01T10:05:00Z";
    const AFTER: &str = "2026-01-01T10:05:03Z";

    fn node(name: &str, ready: bool, heartbeat: &str) -> String {
        format!(
            r#"{{"kind":"Node","metadata":{{"name":"{name}"}},"status":{{"conditions":[
                {{"type":"Ready","status":"{}","lastHeartbeatTime":"{heartbeat}"}}]}}}}"#,
            if ready { "True" } else { "False" }
        )
    }

    fn pod(app: &str, ready: bool, started: &str) -> String {
        format!(
            r#"{{"kind":"Pod","metadata":{{"name":"{app}-x","labels":{{"k8s-app":"{app}"}}}},
                "status":{{"conditions":[{{"type":"Ready","status":"{}"}}],
                "containerStatuses":[{{"state":{{"running":{{"startedAt":"{started}"}}}}}}]}}}}"#,
            if ready { "True" } else { "False" }
        )
    }

    const COREDNS: &str =
        r#"{"kind":"Deployment","metadata":{"name":"coredns"},"spec":{"replicas":2}}"#;

    fn awaited(items: &[String]) -> Option<String> {
        let json = format!(r#"{{"kind":"List","items":[{}]}}"#, items.join(","));
        let list: List<Object> = serde_json::from_str(&json).unwrap();
        still_awaited(&list.items, 2, true, SINCE)
    }

    #[test]
    fn ready_needs_fresh_nodes_proxies_and_every_dns_replica() {
        let mut items = vec![
            node("kube-master", true, AFTER),
            node("kube-node-1", true, AFTER),
            pod("kube-proxy", true, AFTER),
            pod("kube-proxy", true, AFTER),
            pod("kube-dns", true, AFTER),
            pod("kube-dns", true, AFTER),
            COREDNS.to_string(),
        ];
        assert_eq!(awaited(&items), None);
        items[5] = pod("kube-dns", false, AFTER);
        assert_eq!(awaited(&items).as_deref(), Some("CoreDNS 1/2 ready"));
        items[3] = pod("kube-proxy", true, BEFORE);
        assert_eq!(
            awaited(&items).as_deref(),
            Some("kube-proxy ready on 1/2 nodes")
        );
    }

    #[test]
    fn state_from_before_a_restore_does_not_count() {
        let items = [
            node("kube-master", true, AFTER),
            node("kube-node-1", true, BEFORE),
            COREDNS.to_string(),
        ];
        assert_eq!(
            awaited(&items).as_deref(),
            Some("1/2 nodes Ready (waiting for kube-node-1)")
        );
        let items = [node("kube-master", true, AFTER), COREDNS.to_string()];
        assert_eq!(awaited(&items).as_deref(), Some("1/2 nodes Ready"));
    }

    #[test]
    fn without_a_pod_network_registered_nodes_are_enough() {
        let json = format!(
            r#"{{"kind":"List","items":[{},{},{}]}}"#,
            node("kube-master", false, AFTER),
            node("kube-node-1", false, BEFORE),
            COREDNS
        );
        let list: List<Object> = serde_json::from_str(&json).unwrap();
        assert_eq!(
            still_awaited(&list.items, 2, false, SINCE).as_deref(),
            Some("1/2 nodes registered (NotReady until a pod network is installed)")
        );
        assert_eq!(still_awaited(&list.items, 2, false, BEFORE), None);
        assert_eq!(still_awaited(&list.items, 1, false, SINCE), None);
    }
}
