//! `up`, `down` and `clean` as sequences of named steps, with snapshot
//! reuse: restore when the snapshot matches the plan, make a new cluster
//! (saying why) when it is stale or damaged or the restore fails. A local
//! registry ([`crate::registry`]) outlives `down`; `up` configures new and
//! restored nodes for it and `clean` removes it.

use std::time::{Duration, Instant, SystemTime};

use crate::cluster::state::decide::{self, CreateReason, UpPath};
use crate::cluster::state::health::Condition;
use crate::cluster::state::plan::{NodePlan, RunMode};
use crate::cluster::state::snapshot::{self as snapshot_state, SnapshotState};
use crate::cluster::steps::health;
use crate::cluster::steps::node::{self, Launch};
use crate::cluster::steps::snapshot;
use crate::cluster::steps::{kubeadm, kubeconfig, network, pod_network, wait};
use crate::cluster::{plural, ClusterError, Ctx, Result};
use crate::engine::Engine;
use crate::ops::repair;
use crate::settings::NodeRunMode;
use crate::ui::seconds;

/// How `up` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpOutcome {
    AlreadyRunning,
    Created,
    Restored,
    /// Broken nodes were brought back; the others kept running.
    Repaired,
}

/// The node image a cluster is made from.
#[derive(Debug, Clone)]
pub struct NodeImageRef {
    pub reference: String,
    pub id: String,
    pub arch: String,
}

/// Is the cluster up and well: every node running, finished by an `up`,
/// its containerd and kubelet active?
pub async fn is_healthy<E: Engine>(cx: Ctx<'_, E>) -> Result<bool> {
    Ok(health::inspect(cx).await?.condition() == Condition::Healthy)
}

/// Are all of the cluster's node containers running?
pub async fn is_running<E: Engine>(cx: Ctx<'_, E>) -> Result<bool> {
    let nodes = cx.node_containers().await?;
    Ok(!nodes.is_empty() && nodes.values().all(|r| *r))
}

pub fn say_running<E>(cx: Ctx<'_, E>) {
    cx.ui.info(format!(
        "Cluster {:?} is already running; nothing changed. \
         To start it with other settings, run `local-cluster down` first.",
        cx.plan.name
    ));
}

/// The node image a snapshot was made from, when its tag `reference` (of
/// Kubernetes `version` for `arch`) is gone (`docker rmi -f` of a tag only
/// untags an image that has children) but the image is still in the engine.
pub async fn orphaned_node_image<E: Engine>(
    cx: Ctx<'_, E>,
    reference: &str,
    version: &str,
    arch: &str,
) -> Result<Option<String>> {
    if cx.engine.inspect_image(reference).await?.is_some() {
        return Ok(None);
    }
    let SnapshotState::Complete { fields, .. } = snapshot::state(cx).await? else {
        return Ok(None);
    };
    // Only the image for the version and architecture the tag names: an
    // older version's image under a newer tag would lie about itself.
    if fields.kubernetes_version != version {
        return Ok(None);
    }
    Ok(cx
        .engine
        .inspect_image(&fields.node_image)
        .await?
        .filter(|image| image.arch == arch)
        .map(|image| image.id))
}

/// Tag the snapshot's node image as `reference` again when only its tag
/// was removed, so that `up` restores the snapshot rather than building a
/// new node image (whose id would make the snapshot stale). Says so.
pub async fn retag_orphaned_node_image<E: Engine>(
    cx: Ctx<'_, E>,
    reference: &str,
    arch: &str,
) -> Result<bool> {
    let version = cx.plan.kubernetes_version.to_string();
    let Some(id) = orphaned_node_image(cx, reference, &version, arch).await? else {
        return Ok(false);
    };
    cx.engine.tag_image(&id, reference).await?;
    cx.ui.warn(format!(
        "node image {reference} was missing, but the image the snapshot of cluster {:?} \
         was made from ({id}) is still in the engine: tagged it {reference} again",
        cx.plan.name
    ));
    Ok(true)
}

/// What a new cluster installs beyond kubeadm's: made by `up`'s caller only
/// when a cluster is to be created (a restore needs none of it), before
/// anything is removed or created.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    pub pod_network: crate::cni::Install,
    pub addons: Vec<crate::addons::Prepared>,
}

/// The error of preparing [`Extras`], whatever its type.
pub type PrepareError = Box<dyn std::error::Error + Send + Sync>;

pub async fn up<E: Engine, P>(cx: Ctx<'_, E>, image: &NodeImageRef, prepare: P) -> Result<UpOutcome>
where
    P: AsyncFnOnce() -> std::result::Result<Extras, PrepareError>,
{
    let plan = cx.plan;
    let fields = plan.snapshot_fields(&image.id);
    let found = health::inspect(cx).await?;
    let condition = found.condition();
    let snapshot = snapshot::state(cx).await?;
    let decision = decide::up_path(&condition, &snapshot, &fields);
    if decision.path == UpPath::AlreadyRunning {
        say_running(cx);
        return Ok(UpOutcome::AlreadyRunning);
    }
    match &condition {
        Condition::Unfinished => cx.ui.warn(format!(
            "cluster {:?} was not finished by an `up` (interrupted, or its nodes were \
             restarted under it); starting it again",
            plan.name
        )),
        Condition::Broken { .. } => cx.ui.warn(format!(
            "cluster {:?} has broken nodes: {}",
            plan.name,
            found.problems().join("; ")
        )),
        Condition::Absent | Condition::Healthy => {}
    }
    if let UpPath::Repair {
        restart,
        replace,
        from_snapshot,
        api_port,
        run_mode,
    } = &decision.path
    {
        let broken = repair::Broken {
            restart,
            replace,
            from_snapshot: *from_snapshot,
            api_port: *api_port,
            run_mode: *run_mode,
        };
        match repair::repair(cx, image, &fields.fingerprint(), &broken).await {
            Ok(()) => return Ok(UpOutcome::Repaired),
            Err(e) => {
                cx.ui.warn(format!(
                    "repairing cluster {:?} failed ({}); starting all its nodes again",
                    plan.name,
                    crate::error::chain(&e)
                ));
                node::remove_all(cx).await?;
                // Decided again without nodes: restore, or a new cluster.
                return Box::pin(up(cx, image, prepare)).await;
            }
        }
    }
    if decision.remove_nodes {
        if matches!(condition, Condition::Broken { .. }) {
            cx.ui.warn(format!(
                "without a snapshot for these settings the broken nodes cannot be replaced \
                 alone; making cluster {:?} anew",
                plan.name
            ));
        }
        cx.ui.note("removing the node containers first");
        node::remove_all(cx).await?;
    }
    match decision.path {
        UpPath::Restore { api_port, run_mode } => {
            match restore(cx, image, &fields.fingerprint(), api_port, run_mode).await {
                Ok(()) => return Ok(UpOutcome::Restored),
                Err(e) => cx.ui.warn(format!(
                    "restoring cluster {:?} from its snapshot failed ({}); making a new cluster",
                    plan.name,
                    crate::error::chain(&e)
                )),
            }
        }
        UpPath::Create(CreateReason::Stale(difference)) => cx.ui.info(format!(
            "The snapshot of cluster {:?} was made for other settings ({difference}); making a new one.",
            plan.name
        )),
        UpPath::Create(CreateReason::Damaged(why)) => cx.ui.warn(format!(
            "the snapshot of cluster {:?} is damaged ({why}); making a new cluster",
            plan.name
        )),
        UpPath::Create(CreateReason::NoSnapshot)
        | UpPath::AlreadyRunning
        | UpPath::Repair { .. } => {}
    }
    let extras = prepare().await.map_err(ClusterError::Preparing)?;
    remove_all(cx).await?;
    let mode = create(cx, image, &fields.fingerprint(), &extras).await?;

    let step = cx.ui.step("Saving a snapshot for fast restarts");
    let port = node::published_api_port(cx).await?;
    snapshot::take(cx, &fields, port, mode).await?;
    step.done();
    // Last: only now is the cluster finished (an interrupted `up` leaves
    // unmarked nodes, which the next `up` does not take as running).
    health::mark_finished(cx).await?;
    Ok(UpOutcome::Created)
}

/// A new cluster, from the network to the files users get. Returns how the
/// nodes run.
async fn create<E: Engine>(
    cx: Ctx<'_, E>,
    image: &NodeImageRef,
    fingerprint: &str,
    extras: &Extras,
) -> Result<RunMode> {
    let plan = cx.plan;
    let start = Start {
        images: plan.nodes.iter().map(|_| image.reference.clone()).collect(),
        fingerprint,
        api_port: plan.apiserver_port,
        probe_image: &image.reference,
        known_mode: None,
        wait_boot: true,
    };
    let mode = start_nodes(cx, &start).await?;
    node::check_inotify_limit(cx).await?;
    crate::cluster::steps::service_guard::install(cx).await?;

    let step = cx.ui.step(format!(
        "Initializing the control plane on {} (kubeadm init)",
        plan.master().name
    ));
    kubeadm::init(cx).await?;
    kubeadm::tune_system_pods(cx).await?;
    step.done();

    if plan.cni.installs_network() {
        let step = cx.ui.step(format!(
            "Installing the pod network ({})",
            plan.cni.as_str()
        ));
        pod_network::install(cx, &extras.pod_network, &[plan.master()]).await?;
        step.done();
    } else {
        cx.ui.info(
            "No pod network (cniPlugin: none): the nodes stay NotReady and CoreDNS \
             waits until you install one (CNI configuration in /etc/cni/net.d, \
             plugins in /opt/cni/bin of every node)",
        );
    }

    let workers: Vec<&NodePlan> = plan.workers().collect();
    if !workers.is_empty() {
        let step = cx.ui.step(format!(
            "Joining {} worker{} (kubeadm join)",
            workers.len(),
            plural(workers.len())
        ));
        kubeadm::join(cx).await?;
        pod_network::install(cx, &extras.pod_network, &workers).await?;
        step.done();
    }

    wait::ready(cx, None).await?;
    crate::registry::after_up(cx).await;
    if !extras.addons.is_empty() {
        let names: Vec<&str> = extras.addons.iter().map(|a| a.name.as_str()).collect();
        let step = cx
            .ui
            .step(format!("Installing addons: {}", names.join(", ")));
        crate::cluster::steps::addons::install(cx, &extras.addons).await;
        step.done();
    }
    export_files(cx, &image.arch).await?;
    Ok(mode)
}

/// How to start the node containers.
struct Start<'a> {
    /// One image per node, in plan order (the node image, or snapshots).
    images: Vec<String>,
    fingerprint: &'a str,
    api_port: Option<u16>,
    /// Runs the privileged probe when the run mode is not known.
    probe_image: &'a str,
    /// From the snapshot: a restore on the same engine need not probe again.
    known_mode: Option<RunMode>,
    /// Wait for systemd and containerd (a restore need not: the readiness
    /// wait covers it).
    wait_boot: bool,
}

/// Network, node containers, boot: shared by creation and restore.
async fn start_nodes<E: Engine>(cx: Ctx<'_, E>, start: &Start<'_>) -> Result<RunMode> {
    let plan = cx.plan;
    let step = cx.ui.step(format!(
        "Preparing network {} ({})",
        plan.network, plan.subnet
    ));
    // A registry made for another subnet must let go of the network.
    crate::registry::before_network(cx).await;
    network::ensure(cx).await?;
    step.done();

    let mode = match start.known_mode {
        Some(mode) if plan.run_mode == NodeRunMode::Auto => mode,
        _ => node::detect_run_mode(cx, start.probe_image).await?,
    };
    cx.ui.note(match mode {
        RunMode::Privileged => "nodes run as privileged containers",
        RunMode::Capabilities => {
            "nodes run with explicit capabilities (this engine refuses --privileged)"
        }
    });

    let step = cx.ui.step(format!(
        "Starting {} node container{}",
        plan.nodes.len(),
        plural(plan.nodes.len())
    ));
    let launch = Launch {
        images: start.images.clone(),
        fingerprint: start.fingerprint.to_string(),
        api_port: start.api_port,
        mode,
    };
    node::create_all(cx, &launch).await?;
    if start.wait_boot {
        wait::while_nodes_run(cx, wait::booted(cx, Duration::from_secs(120))).await?;
    }
    step.done();
    Ok(mode)
}

async fn restore<E: Engine>(
    cx: Ctx<'_, E>,
    image: &NodeImageRef,
    fingerprint: &str,
    snapshot_port: Option<u16>,
    snapshot_mode: Option<RunMode>,
) -> Result<()> {
    let plan = cx.plan;
    cx.ui.info(format!(
        "Restoring cluster {:?} from its snapshot.",
        plan.name
    ));
    let since = crate::time::rfc3339(SystemTime::now());
    let mut start = Start {
        images: plan
            .nodes
            .iter()
            .map(|n| snapshot_state::image_reference(plan, &n.name))
            .collect(),
        fingerprint,
        // Keep the port admin.conf already names, unless the settings say otherwise.
        api_port: plan.apiserver_port.or(snapshot_port),
        probe_image: &image.reference,
        known_mode: snapshot_mode,
        wait_boot: false,
    };
    match start_nodes(cx, &start).await {
        // The snapshot's port was free when it was made; another program
        // may hold it now. Unless the settings name a port, take any.
        Err(e @ ClusterError::ApiPortTaken { .. }) if plan.apiserver_port.is_none() => {
            cx.ui.note(format!(
                "{}; starting with a new API server port",
                crate::error::chain(&e)
            ));
            node::remove_all(cx).await?;
            start.api_port = None;
            start_nodes(cx, &start).await?;
        }
        other => {
            other?;
        }
    }
    wait::ready(cx, Some(&since)).await?;
    crate::registry::after_up(cx).await;
    export_files(cx, &image.arch).await?;
    health::mark_finished(cx).await
}

pub(super) async fn export_files<E: Engine>(cx: Ctx<'_, E>, arch: &str) -> Result<()> {
    let step = cx.ui.step("Writing admin.conf and kubectl");
    let port = node::published_api_port(cx).await?;
    kubeconfig::export_admin_conf(cx, port).await?;
    kubeconfig::export_kubectl(cx, arch).await?;
    step.done();
    Ok(())
}

/// Remove the node containers; keep the volumes when a snapshot can use them.
/// Returns whether there was anything to remove.
pub async fn down<E: Engine>(cx: Ctx<'_, E>) -> Result<bool> {
    let nodes = cx.node_containers().await?;
    if nodes.is_empty() {
        cx.ui.info(format!(
            "Cluster {:?} is not running; nothing to do.",
            cx.plan.name
        ));
        return Ok(false);
    }
    let keep = matches!(snapshot::state(cx).await?, SnapshotState::Complete { .. });
    let step = cx.ui.step(format!(
        "Stopping and removing {} node container{}{}",
        nodes.len(),
        plural(nodes.len()),
        if keep { " (the snapshot stays)" } else { "" }
    ));
    node::remove_all(cx).await?;
    if !keep {
        node::remove_volumes(cx).await?;
    }
    step.done();
    Ok(true)
}

/// Containers, volumes, snapshot images.
async fn remove_all<E: Engine>(cx: Ctx<'_, E>) -> Result<()> {
    node::remove_all(cx).await?;
    node::remove_volumes(cx).await?;
    snapshot::remove_images(cx).await
}

/// `down` plus the snapshot, the network and the files in the home directory.
pub async fn clean<E: Engine>(cx: Ctx<'_, E>) -> Result<()> {
    let start = Instant::now();
    remove_all(cx).await?;
    crate::registry::remove(cx).await?;
    network::remove(cx).await?;
    let plan = cx.plan;
    for path in [
        plan.admin_conf(),
        plan.kubectl_path(),
        plan.home_dir.join("kubectl.version"),
    ] {
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(ClusterError::io("removing", &path)(e))
            }
            _ => {}
        }
    }
    cx.ui
        .note(format!("cleaned in {}", seconds(start.elapsed())));
    Ok(())
}
