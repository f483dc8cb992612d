//! Each step of `up` alone on the fake engine, after the steps a new
//! cluster runs before it.

use super::*;
use crate::cluster::state::plan::RunMode;
use crate::cluster::state::snapshot::{node_images, SnapshotFields};
use crate::cluster::{ClusterError, Ctx, Result};
use crate::engine::fake::FakeEngine;
use crate::ops::tests::scene::{scene, Scene, NODES, NODE_IMAGE};
use crate::ops::up::job::{Job, Step};
use crate::ops::up::{paths, Extras};
use crate::ui::Ui;

fn job(s: &Scene) -> Job<'_> {
    Job::new(
        s.plan.nodes.len(),
        &s.image,
        SnapshotFields::of(&s.plan, &s.image.id),
    )
}

/// Run `step` alone; its result and what it showed.
async fn run(s: &Scene, step: &dyn Step<FakeEngine>, job: &mut Job<'_>) -> (Result<()>, String) {
    let ui = Ui::recording(2);
    let result = step.run(Ctx::new(&s.fake, &s.plan, &ui), job).await;
    (result, format!("{:#?}", ui.events()))
}

/// Run the steps of a new cluster that come before the step named `name`.
async fn run_before(s: &Scene, name: &str, job: &mut Job<'_>) {
    let ui = Ui::recording(1);
    for step in paths::create::<FakeEngine>() {
        if step.name() == name {
            return;
        }
        step.run(Ctx::new(&s.fake, &s.plan, &ui), job)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", step.name()));
    }
    panic!("no step {name}");
}

/// A scene and a job that has run the steps before `name`.
async fn before(name: &str, env: &[(&str, &str)]) -> Scene {
    let s = scene(env);
    run_before(&s, name, &mut job(&s)).await;
    s
}

fn done(events: &str, title: &str) -> bool {
    events.contains(&format!("StepDone(\n        \"{title}"))
}

#[tokio::test(start_paused = true)]
async fn prepare_extras_runs_the_callers_preparation_once_and_names_its_failure() {
    let s = scene(&[]);
    let mut j = job(&s);
    j.prepare = Some(Box::new(|| {
        Box::pin(async { Err("no addon archive".into()) })
    }));
    let (result, _) = run(&s, &PrepareExtras, &mut j).await;
    assert!(
        matches!(result, Err(ClusterError::Preparing(_))),
        "{result:?}"
    );
    assert!(j.prepare.is_none());
    let mut j = job(&s);
    j.prepare = Some(Box::new(|| Box::pin(async { Ok(Extras::default()) })));
    run(&s, &PrepareExtras, &mut j).await.0.unwrap();
    assert!(j.prepare.is_none() && j.extras.addons.is_empty());
}

#[tokio::test(start_paused = true)]
async fn remove_old_removes_nodes_volumes_and_the_snapshot() {
    let s = scene(&[]);
    s.up(&Ui::recording(1)).await.unwrap();
    assert_eq!(s.snapshot_images().len(), 3);
    run(&s, &RemoveOld, &mut job(&s)).await.0.unwrap();
    assert!(s.fake.container_names().is_empty());
    assert!(s.fake.volume_names().is_empty());
    assert!(s.snapshot_images().is_empty());
}

#[tokio::test(start_paused = true)]
async fn network_makes_the_clusters_network() {
    let s = scene(&[]);
    let (result, events) = run(&s, &Network, &mut job(&s)).await;
    result.unwrap();
    assert_eq!(s.fake.network_names(), ["k8s-kubeadm-local-cluster-c"]);
    assert!(
        done(
            &events,
            "Preparing network k8s-kubeadm-local-cluster-c (10.250.0.0/24)"
        ),
        "{events}"
    );
}

#[tokio::test(start_paused = true)]
async fn run_mode_probes_the_engine_unless_the_snapshot_knows() {
    let s = scene(&[]);
    s.fake.refuse_privileged();
    let mut j = job(&s);
    run(&s, &DecideRunMode, &mut j).await.0.unwrap();
    assert_eq!(j.mode, Some(RunMode::Capabilities));
    let probes = |s: &Scene| {
        s.fake
            .calls()
            .iter()
            .filter(|c| c.contains("probe"))
            .count()
    };
    let before = probes(&s);
    let mut j = job(&s);
    j.known_mode = Some(RunMode::Privileged);
    run(&s, &DecideRunMode, &mut j).await.0.unwrap();
    assert_eq!(j.mode, Some(RunMode::Privileged));
    assert_eq!(probes(&s), before, "no probe when the snapshot knows");
}

#[tokio::test(start_paused = true)]
async fn start_nodes_starts_every_node_from_its_image() {
    let s = before("start-nodes", &[]).await;
    let mut j = job(&s);
    j.mode = Some(RunMode::Privileged);
    let (result, events) = run(&s, &StartNodes, &mut j).await;
    result.unwrap();
    assert!(done(&events, "Starting 3 node containers"), "{events}");
    let containers = s.fake.containers();
    assert_eq!(s.fake.container_names(), NODES);
    assert!(NODES
        .iter()
        .all(|n| containers[*n].running && containers[*n].spec.image == NODE_IMAGE));
    // The master's container runs before the workers' are made.
    let calls = s.fake.calls();
    let at = |call: &str| calls.iter().position(|c| c == call).expect(call);
    let master_started = at(&format!("start_container {}", NODES[0]));
    for worker in &NODES[1..] {
        assert!(
            master_started < at(&format!("create_container {worker}")),
            "{calls:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn start_nodes_takes_a_free_port_only_when_the_port_may_change() {
    let s = before("start-nodes", &[]).await;
    s.fake.take_port(45678);
    let mut j = job(&s);
    j.mode = Some(RunMode::Privileged);
    j.api_port = Some(45678);
    let (result, _) = run(&s, &StartNodes, &mut j).await;
    assert!(
        matches!(result, Err(ClusterError::ApiPortTaken { port: 45678, .. })),
        "{result:?}"
    );
    // A snapshot's port, from a restore: swapped for a free one.
    let s = before("start-nodes", &[]).await;
    s.fake.take_port(45678);
    let mut j = job(&s);
    j.mode = Some(RunMode::Privileged);
    j.api_port = Some(45678);
    j.api_port_may_change = true;
    let (result, events) = run(&s, &StartNodes, &mut j).await;
    result.unwrap();
    assert!(
        events.contains("starting with a new API server port"),
        "{events}"
    );
    assert_eq!(j.api_port, None);
    assert_ne!(s.master_port(), 45678);
}

#[tokio::test(start_paused = true)]
async fn inotify_limit_is_quiet_when_the_limit_is_high() {
    let s = before("inotify-limit", &[]).await;
    let (result, events) = run(&s, &InotifyLimit, &mut job(&s)).await;
    result.unwrap();
    assert!(!events.contains("Warn"), "{events}");
}

#[tokio::test(start_paused = true)]
async fn service_guard_goes_into_every_node() {
    let s = before("service-guard", &[]).await;
    run(&s, &ServiceGuard, &mut job(&s)).await.0.unwrap();
    each_node_holds(&s, |f| f.contains("service-guard"));
}

/// Every node holds a file whose path `wanted` accepts.
fn each_node_holds(s: &Scene, wanted: impl Fn(&str) -> bool) {
    let containers = s.fake.containers();
    for node in NODES {
        let files = &containers[node].files;
        assert!(
            files.keys().any(|f| wanted(f)),
            "{node}: {:?}",
            files.keys()
        );
    }
}

#[tokio::test(start_paused = true)]
async fn init_control_plane_runs_kubeadm_init_on_the_master_once() {
    let s = before("init-control-plane", &[]).await;
    let (result, events) = run(&s, &InitControlPlane, &mut job(&s)).await;
    result.unwrap();
    assert_eq!(s.ran("init"), 1);
    assert!(s.fake.containers()["c-kube-master"]
        .files
        .contains_key("/etc/kubeadm-local-cluster/kubeadm.yaml"));
    assert!(
        done(&events, "Initializing the control plane on kube-master"),
        "{events}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_pod_network_is_installed_as_the_workers_join() {
    let s = before("pod-network-and-join", &[]).await;
    let (result, events) = run(&s, &PodNetworkAndJoin, &mut job(&s)).await;
    result.unwrap();
    assert_eq!(s.ran("join"), 2);
    assert!(
        done(&events, "Installing the pod network (bridge)"),
        "{events}"
    );
    assert!(
        done(&events, "Joining 2 workers (kubeadm join)"),
        "{events}"
    );
    // Each node got its network's files.
    each_node_holds(&s, |f| f.starts_with("/etc/cni/net.d/"));
}

#[tokio::test(start_paused = true)]
async fn a_single_node_joins_nothing_and_no_network_is_explained() {
    let s = before("pod-network-and-join", &[("K8S_DIND_NUM_NODES", "0")]).await;
    let (result, events) = run(&s, &PodNetworkAndJoin, &mut job(&s)).await;
    result.unwrap();
    assert_eq!(s.ran("join"), 0);
    assert!(!events.contains("Joining"), "{events}");
    let s = before("pod-network-and-join", &[("K8S_DIND_CNI_PLUGIN", "none")]).await;
    let (result, events) = run(&s, &PodNetworkAndJoin, &mut job(&s)).await;
    result.unwrap();
    assert!(
        events.contains("No pod network (cniPlugin: none)"),
        "{events}"
    );
    assert!(!events.contains("Installing the pod network"), "{events}");
    assert_eq!(s.ran("join"), 2);
}

#[tokio::test(start_paused = true)]
async fn wait_ready_waits_for_nodes_kube_proxy_and_coredns() {
    let s = before("wait-ready", &[]).await;
    let (result, events) = run(&s, &WaitReady, &mut job(&s)).await;
    result.unwrap();
    assert!(
        done(&events, "Waiting for nodes, kube-proxy and CoreDNS"),
        "{events}"
    );
}

#[tokio::test(start_paused = true)]
async fn registry_nodes_leaves_a_cluster_without_registry_alone() {
    let s = before("registry-nodes", &[]).await;
    let files = |s: &Scene| s.fake.containers()["c-kube-master"].files.len();
    let before = files(&s);
    let (result, events) = run(&s, &RegistryNodes, &mut job(&s)).await;
    result.unwrap();
    assert_eq!(files(&s), before);
    assert!(!events.contains("Warn"), "{events}");
}

#[tokio::test(start_paused = true)]
async fn addons_without_addons_shows_nothing() {
    let s = before("addons", &[]).await;
    let (result, events) = run(&s, &Addons, &mut job(&s)).await;
    result.unwrap();
    assert!(!events.contains("Installing addons"), "{events}");
}

#[tokio::test(start_paused = true)]
async fn export_files_writes_admin_conf_with_the_published_port_and_kubectl() {
    let s = before("export-files", &[]).await;
    run(&s, &ExportFiles, &mut job(&s)).await.0.unwrap();
    let port = s.master_port();
    assert!(s
        .admin_conf()
        .contains(&format!("server: https://127.0.0.1:{port}")));
    assert!(s.plan.kubectl_path().exists());
}

#[tokio::test(start_paused = true)]
async fn save_snapshot_commits_every_node() {
    let s = scene(&[]);
    let mut j = job(&s);
    run_before(&s, "save-snapshot", &mut j).await;
    let (result, events) = run(&s, &SaveSnapshot, &mut j).await;
    result.unwrap();
    let mut images = s.snapshot_images();
    images.sort();
    let wanted = node_images(&s.plan);
    assert_eq!(images, wanted);
    assert!(
        done(&events, "Saving a snapshot for fast restarts"),
        "{events}"
    );
}

#[tokio::test(start_paused = true)]
async fn mark_finished_marks_every_node() {
    let s = before("mark-finished", &[]).await;
    assert!(s.nodes.marked.lock().unwrap().is_empty());
    run(&s, &MarkFinished, &mut job(&s)).await.0.unwrap();
    assert_eq!(s.nodes.marked.lock().unwrap().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn say_restoring_says_so_and_sets_when_readiness_counts() {
    let s = scene(&[]);
    let mut j = job(&s);
    let (result, events) = run(&s, &SayRestoring, &mut j).await;
    result.unwrap();
    assert!(
        events.contains("Restoring cluster \\\"c\\\" from its snapshot."),
        "{events}"
    );
    assert!(j.since.is_some());
}

#[tokio::test(start_paused = true)]
async fn restart_units_starts_units_or_hands_the_node_to_replacement() {
    let s = scene(&[]);
    s.up(&Ui::recording(1)).await.unwrap();
    s.nodes.stop_unit("c-kube-node-1", "kubelet");
    let mut j = job(&s);
    j.restart = vec!["kube-node-1".to_string()];
    let (result, events) = run(&s, &RestartUnits, &mut j).await;
    result.unwrap();
    assert!(
        done(
            &events,
            "Starting containerd and kubelet again on kube-node-1"
        ),
        "{events}"
    );
    assert!(j.replace.is_empty());
    s.nodes
        .units_broken
        .lock()
        .unwrap()
        .insert("c-kube-node-1".to_string());
    let (result, _) = run(&s, &RestartUnits, &mut j).await;
    assert!(
        matches!(result, Err(ClusterError::UnitsDoNotStart { .. })),
        "{result:?}"
    );
    j.from_snapshot = true;
    run(&s, &RestartUnits, &mut j).await.0.unwrap();
    assert_eq!(j.replace, ["kube-node-1"]);
}

#[tokio::test(start_paused = true)]
async fn replace_nodes_starts_only_the_named_nodes_from_their_snapshot() {
    let s = scene(&[]);
    s.up(&Ui::recording(1)).await.unwrap();
    s.fake.stop("c-kube-node-2");
    let mut j = job(&s);
    j.node_images = node_images(&s.plan);
    j.known_mode = Some(RunMode::Privileged);
    run(&s, &ReplaceNodes, &mut j).await.0.unwrap();
    assert_eq!(
        s.fake.containers()["c-kube-node-2"].spec.image,
        NODE_IMAGE,
        "nothing named"
    );
    j.replace = vec!["kube-node-2".to_string()];
    let (result, events) = run(&s, &ReplaceNodes, &mut j).await;
    result.unwrap();
    assert!(
        done(&events, "Replacing a node from the snapshot: kube-node-2"),
        "{events}"
    );
    let containers = s.fake.containers();
    assert_eq!(
        containers["c-kube-node-2"].spec.image,
        "kubeadm-local-cluster/snapshot-c:kube-node-2"
    );
    assert!(containers["c-kube-node-2"].running);
    assert_eq!(containers["c-kube-master"].spec.image, NODE_IMAGE);
}

mod certificates;
