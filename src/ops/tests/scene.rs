//! A fake engine whose nodes answer like a healthy cluster, for tests of
//! `up`, `down` and `clean` and of each step of `up`.

use crate::cluster::state::plan::ClusterPlan;
use crate::cluster::tests::{cluster_c_env, settings_at};
use crate::cluster::{ClusterError, Ctx};
use crate::engine::fake::{FakeEngine, FileTree};
use crate::engine::ExecOutput;
use crate::labels::{
    LABEL_FORMAT, LABEL_KUBERNETES_VERSION, LABEL_PRELOADED, LABEL_ROLE, ROLE_NODE_IMAGE,
};
use crate::ops::lifecycle;
use crate::ops::up::{NodeImageRef, UpOutcome};
use crate::settings::Settings;
use crate::ui::{Event, Ui};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use crate::cluster::steps::node_ops::NodeOp;

pub(crate) const NODE_IMAGE: &str = "kubeadm-local-cluster/node:v1.37.2-amd64";
/// Later than any restore: node heartbeats and pod starts all count.
pub(crate) const FRESH: &str = "2999-01-01T00:00:00Z";

/// A fake engine holding a node image, whose nodes answer like a healthy
/// cluster, and a plan with its own home directory.
pub(crate) struct Scene {
    pub(crate) fake: FakeEngine,
    /// Nodes as they answer the health probe (see [`Nodes`]).
    pub(crate) nodes: Nodes,
    pub(crate) plan: ClusterPlan,
    /// The settings the plan is made from.
    pub(crate) settings: Settings,
    pub(crate) image: NodeImageRef,
    pub(crate) _home: tempfile::TempDir,
}

pub(crate) fn scene(env: &[(&str, &str)]) -> Scene {
    let home = tempfile::tempdir().unwrap();
    let mut env = cluster_c_env(env);
    env.insert(0, ("K8S_DIND_KUBERNETES_VERSION", "v1.37.2"));
    let settings = settings_at(home.path(), &env);
    let plan = ClusterPlan::new(&settings, "v1.37.2".parse().unwrap());
    let fake = FakeEngine::new();
    let files = FileTree::from([
        (
            "/etc/kubernetes/admin.conf".to_string(),
            (
                0o600,
                b"clusters:\n- cluster:\n    server: https://kube-master:6443\n".to_vec(),
            ),
        ),
        ("/usr/bin/kubectl".to_string(), (0o755, b"\x7fELF".to_vec())),
    ]);
    // Labelled as a node image of this version that `up` may use.
    let format = crate::images::node::FORMAT.to_string();
    let labels = [
        (LABEL_ROLE, ROLE_NODE_IMAGE),
        (LABEL_KUBERNETES_VERSION, "v1.37.2"),
        (LABEL_FORMAT, format.as_str()),
        (LABEL_PRELOADED, "registry.k8s.io/kube-apiserver:v1.37.2"),
    ];
    let id = fake.add_image(&[NODE_IMAGE], &labels, files);
    answer_like_a_healthy_cluster(&fake, &plan);
    let nodes = Nodes::default();
    nodes.answer(&fake);
    Scene {
        fake,
        nodes,
        image: NodeImageRef {
            reference: NODE_IMAGE.to_string(),
            id,
            arch: "amd64".to_string(),
        },
        plan,
        settings,
        _home: home,
    }
}

/// What the nodes' `/run` holds (the mark of a finished `up`) and which of
/// their units are stopped, as the health probe sees them.
#[derive(Clone, Default)]
pub(crate) struct Nodes {
    pub(crate) marked: Arc<Mutex<BTreeSet<String>>>,
    /// container → a unit that is not active.
    pub(crate) stopped_unit: Arc<Mutex<BTreeMap<String, String>>>,
    /// Containers whose units refuse to start again.
    pub(crate) units_broken: Arc<Mutex<BTreeSet<String>>>,
}

impl Nodes {
    pub(crate) fn answer(&self, fake: &FakeEngine) {
        let nodes = self.clone();
        fake.on_op(NodeOp::MarkFinished.name(), move |container| {
            nodes.marked.lock().unwrap().insert(container.to_string());
            ExecOutput::ok("")
        });
        let nodes = self.clone();
        fake.on_op(NodeOp::RestartUnits.name(), move |container| {
            if nodes.units_broken.lock().unwrap().contains(container) {
                return ExecOutput::failed(3, "kubelet failed");
            }
            nodes.stopped_unit.lock().unwrap().remove(container);
            ExecOutput::ok("active\nactive\n")
        });
        let nodes = self.clone();
        fake.on_op(NodeOp::HealthProbe.name(), move |container| {
            let marked = nodes.marked.lock().unwrap().contains(container);
            let stopped = nodes.stopped_unit.lock().unwrap().get(container).cloned();
            let state = |unit: &str| {
                if stopped.as_deref() == Some(unit) {
                    "inactive"
                } else {
                    "active"
                }
            };
            ExecOutput::ok(format!(
                "{}\ncontainerd {}\nkubelet {}\n",
                if marked { "marked" } else { "unmarked" },
                state("containerd"),
                state("kubelet")
            ))
        });
    }

    /// As after an interrupted `up`: nothing marked.
    pub(crate) fn forget_marks(&self) {
        self.marked.lock().unwrap().clear();
    }

    /// As a new container would be: without the mark.
    pub(crate) fn unmark(&self, container: &str) {
        self.marked.lock().unwrap().remove(container);
    }

    pub(crate) fn stop_unit(&self, container: &str, unit: &str) {
        self.stopped_unit
            .lock()
            .unwrap()
            .insert(container.to_string(), unit.to_string());
    }
}

pub(crate) fn answer_like_a_healthy_cluster(fake: &FakeEngine, plan: &ClusterPlan) {
    let names: Vec<String> = plan.nodes.iter().map(|n| n.name.clone()).collect();
    let nodes = names.clone();
    fake.on_op(NodeOp::ClusterObjects.name(), move |_| {
        let mut items: Vec<String> = Vec::new();
        for name in &nodes {
            items.push(format!(
                r#"{{"kind":"Node","metadata":{{"name":"{name}"}},"status":{{"conditions":[{{"type":"Ready","status":"True","lastHeartbeatTime":"{FRESH}"}}]}}}}"#
            ));
        }
        let pod = |app: &str| {
            format!(
                r#"{{"kind":"Pod","metadata":{{"name":"{app}","labels":{{"k8s-app":"{app}"}}}},"status":{{"conditions":[{{"type":"Ready","status":"True"}}],"containerStatuses":[{{"state":{{"running":{{"startedAt":"{FRESH}"}}}}}}]}}}}"#
            )
        };
        items.extend(nodes.iter().map(|_| pod("kube-proxy")));
        items.extend([pod("kube-dns"), pod("kube-dns")]);
        items.push(
            r#"{"kind":"Deployment","metadata":{"name":"coredns"},"spec":{"replicas":2}}"#
                .to_string(),
        );
        ExecOutput::ok(format!(r#"{{"items":[{}]}}"#, items.join(",")))
    });
    fake.on_op(NodeOp::NodeList.name(), move |_| {
        let items: Vec<String> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                format!(
                    r#"{{"metadata":{{"name":"{name}"}},"spec":{{"podCIDR":"10.244.{i}.0/24"}}}}"#
                )
            })
            .collect();
        ExecOutput::ok(format!(r#"{{"items":[{}]}}"#, items.join(",")))
    });
    fake.on_op(NodeOp::KubeProxyHealth.name(), |_| {
        ExecOutput::ok(r#"{"lastUpdated": "now"}"#)
    });
    fake.on_op(NodeOp::ApiReady.name(), |_| ExecOutput::ok(""));
    fake.on_op(NodeOp::JoinDiscovery.name(), |_| ExecOutput::ok(""));
    fake.on_op(NodeOp::KubeletPods.name(), |_| ExecOutput::ok(""));
    fake.on_op(NodeOp::InotifyLimit.name(), |_| ExecOutput::ok("1000000\n"));
}

impl Scene {
    pub(crate) async fn up(&self, ui: &Ui) -> Result<UpOutcome, ClusterError> {
        let prepare = async || Ok(crate::ops::up::Extras::default());
        crate::ops::up::up(Ctx::new(&self.fake, &self.plan, ui), &self.image, prepare).await
    }

    pub(crate) async fn down(&self) {
        let ui = Ui::recording(1);
        lifecycle::down(Ctx::new(&self.fake, &self.plan, &ui))
            .await
            .unwrap();
    }

    pub(crate) fn snapshot_images(&self) -> Vec<String> {
        self.fake
            .images()
            .into_iter()
            .filter(|i| i.labels.get(LABEL_ROLE).map(String::as_str) == Some("snapshot"))
            .flat_map(|i| i.tags)
            .collect()
    }

    pub(crate) fn master_port(&self) -> u16 {
        self.fake.containers()["c-kube-master"].host_ports[&6443]
    }

    pub(crate) fn admin_conf(&self) -> String {
        std::fs::read_to_string(self.plan.admin_conf()).unwrap()
    }

    /// How many times a command with this word ran.
    pub(crate) fn ran(&self, word: &str) -> usize {
        self.fake
            .calls()
            .iter()
            .filter(|c| c.starts_with("exec ") && c.split_whitespace().any(|w| w == word))
            .count()
    }

    /// A cluster made, then taken down with its snapshot kept.
    pub(crate) async fn made_and_down(env: &[(&str, &str)]) -> Scene {
        let s = scene(env);
        assert_eq!(s.up(&Ui::recording(1)).await.unwrap(), UpOutcome::Created);
        s.down().await;
        s
    }
}

pub(crate) fn has(events: &[Event], wanted: &Event) -> bool {
    events.contains(wanted)
}

pub(crate) fn texts(events: &[Event]) -> String {
    format!("{events:#?}")
}

pub(crate) const NODES: [&str; 3] = ["c-kube-master", "c-kube-node-1", "c-kube-node-2"];
