//! The objects `kubectl get -o json` returns that the tool reads (nodes,
//! pods, deployments), and the judgement of readiness made from them.

use serde::Deserialize;

#[derive(Debug, Clone)]
pub struct NodeStatus {
    pub name: String,
    pub ready: bool,
    /// lastHeartbeatTime of the Ready condition.
    pub heartbeat: String,
    pub pod_cidr: Option<String>,
}

/// From when what the API shows counts: after a restore it still shows the
/// nodes' and pods' state from before the snapshot; after a thaw, from
/// before the pause. Timestamps are RFC 3339 in UTC, so they compare as
/// strings; empty counts everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fresh<'a> {
    /// Node heartbeats (lastHeartbeatTime of Ready) at or after this.
    pub heartbeats: &'a str,
    /// Pods' containers started at or after this.
    pub pod_starts: &'a str,
}

impl<'a> Fresh<'a> {
    /// Heartbeats and pod starts since `time` (a restore: all started again).
    pub fn since(time: &'a str) -> Fresh<'a> {
        Fresh {
            heartbeats: time,
            pod_starts: time,
        }
    }
}

/// What the cluster still lacks (None when ready): `expected` nodes Ready,
/// kube-proxy Ready on each, every CoreDNS replica Ready. Without a pod
/// `network` nodes never become Ready and CoreDNS never starts, so only
/// their registration counts. Only what is `fresh` counts.
pub(super) fn still_awaited(
    objects: &[Object],
    expected: usize,
    network: bool,
    fresh: Fresh<'_>,
) -> Option<String> {
    let since = fresh.heartbeats;
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
                        && p.is_ready_since(fresh.pod_starts)
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

#[derive(Deserialize)]
pub(super) struct List<T> {
    pub(super) items: Vec<T>,
}

/// An item of a mixed `kubectl get nodes,pods,deployments` list.
#[derive(Deserialize)]
#[serde(tag = "kind")]
pub(super) enum Object {
    Node(Node),
    Pod(Pod),
    Deployment(Deployment),
}

#[derive(Deserialize, Clone)]
pub(super) struct Node {
    metadata: Meta,
    #[serde(default)]
    spec: NodeSpec,
    #[serde(default)]
    status: NodeStatusJson,
}

impl Node {
    pub(super) fn into_status(self) -> NodeStatus {
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
    spec: PodSpec,
    #[serde(default)]
    status: PodStatus,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PodSpec {
    #[serde(default)]
    node_name: String,
}

/// Why a kubelet holds a container back that it would have started: after
/// a restore a kubelet may try a pod before it has listed the Services
/// (`CreateContainerConfigError`: "services have not yet been read at least
/// once"), and then waits out a back-off of 10 s (`CrashLoopBackOff`).
const HELD_BACK: [&str; 2] = ["CreateContainerConfigError", "CrashLoopBackOff"];

/// The nodes on which a kube-proxy or CoreDNS pod waits to start a
/// container for one of the [`HELD_BACK`] reasons, in name order.
pub(super) fn nodes_holding_back(objects: &[Object]) -> Vec<String> {
    let mut nodes: Vec<String> = objects
        .iter()
        .filter_map(|o| match o {
            Object::Pod(p) if p.is_system() && p.held_back() => Some(p.spec.node_name.clone()),
            _ => None,
        })
        .filter(|n| !n.is_empty())
        .collect();
    nodes.sort();
    nodes.dedup();
    nodes
}

impl Pod {
    fn is_system(&self) -> bool {
        matches!(
            self.metadata.labels.get("k8s-app").map(String::as_str),
            Some("kube-proxy" | "kube-dns")
        )
    }

    fn held_back(&self) -> bool {
        self.status.container_statuses.iter().any(|c| {
            c.state
                .waiting
                .as_ref()
                .is_some_and(|w| HELD_BACK.contains(&w.reason.as_str()))
        })
    }

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
    waiting: Option<Waiting>,
}

#[derive(Deserialize)]
struct Waiting {
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Running {
    started_at: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Deployment {
    metadata: Meta,
    #[serde(default)]
    spec: DeploymentSpec,
}

#[derive(Deserialize, Default)]
struct DeploymentSpec {
    replicas: Option<i64>,
}
