//! `up`, `down` and `clean` as sequences of the named steps in this module's
//! parent, with snapshot reuse: restore when the snapshot matches the plan,
//! rebuild (saying why) when it is stale or damaged.

use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};

use super::kubectl::Kubectl;
use super::plan::{ClusterPlan, RunMode};
use super::snapshot::{self, SnapshotState};
use super::{kubeconfig, node, Launch};
use crate::engine::Engine;
use crate::ui::{seconds, ui};

/// How `up` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpOutcome {
    AlreadyRunning,
    Created,
    Restored,
}

/// The node image a cluster is made from.
pub struct NodeImageRef {
    pub reference: String,
    pub id: String,
    pub arch: String,
}

/// Are all of the cluster's node containers running?
pub async fn is_running(engine: &Engine, plan: &ClusterPlan) -> Result<bool> {
    let nodes = super::node_containers(engine, plan).await?;
    Ok(!nodes.is_empty() && nodes.values().all(|r| *r))
}

pub fn say_running(plan: &ClusterPlan) {
    ui().info(format!(
        "Cluster {:?} is already running; nothing changed. \
         To start it with other settings, run `local-cluster down` first.",
        plan.name
    ));
}

pub async fn up(engine: &Engine, plan: &ClusterPlan, image: &NodeImageRef) -> Result<UpOutcome> {
    if is_running(engine, plan).await? {
        say_running(plan);
        return Ok(UpOutcome::AlreadyRunning);
    }
    if !super::node_containers(engine, plan).await?.is_empty() {
        // Stopped nodes (an engine restart) are replaced from the snapshot.
        super::remove_containers(engine, plan).await?;
    }

    let fingerprint = plan.fingerprint(&image.id);
    let fields = plan.fingerprint_fields(&image.id);
    match snapshot::state(engine, plan).await? {
        SnapshotState::Complete {
            fingerprint: found,
            api_port,
            run_mode,
            ..
        } if found == fingerprint => {
            match restore(engine, plan, image, &fingerprint, api_port, run_mode).await {
                Ok(()) => return Ok(UpOutcome::Restored),
                Err(e) => {
                    ui().warn(format!(
                        "restoring cluster {:?} from its snapshot failed ({e:#}); making a new cluster",
                        plan.name
                    ));
                }
            }
        }
        SnapshotState::Complete { fields: old, .. } => {
            ui().info(format!(
                "The snapshot of cluster {:?} was made for other settings ({}); making a new one.",
                plan.name,
                snapshot::describe_difference(&old, &fields)
            ));
        }
        SnapshotState::Damaged(why) => {
            ui().warn(format!(
                "the snapshot of cluster {:?} is damaged ({why}); making a new cluster",
                plan.name
            ));
        }
        SnapshotState::None => {}
    }
    remove_all(engine, plan).await?;
    let mode = create(engine, plan, image, &fingerprint).await?;

    let step = ui().step("Saving a snapshot for fast restarts");
    let port = node::published_api_port(engine, plan.master()).await?;
    snapshot::take(engine, plan, &fingerprint, &fields, port, mode).await?;
    step.done();
    Ok(UpOutcome::Created)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A new cluster, from kubeadm init onwards. Returns how the nodes run.
async fn create(
    engine: &Engine,
    plan: &ClusterPlan,
    image: &NodeImageRef,
    fingerprint: &str,
) -> Result<RunMode> {
    let launch = Launch {
        engine,
        plan,
        images: plan.nodes.iter().map(|_| image.reference.clone()).collect(),
        fingerprint: fingerprint.to_string(),
        api_port: plan.apiserver_port,
    };
    let mode = start_nodes(&launch, &image.reference, None, true).await?;
    node::check_inotify_limit(engine, plan.master(), plan.nodes.len()).await?;

    let step = ui().step(format!(
        "Initializing the control plane on {} (kubeadm init)",
        plan.master().name
    ));
    super::kubeadm_init(engine, plan).await?;
    super::tune_system_pods(engine, plan).await?;
    step.done();

    let step = ui().step(format!(
        "Installing the pod network ({})",
        plan.cni.as_str()
    ));
    super::install_pod_network(engine, plan, &[plan.master()]).await?;
    step.done();

    let workers: Vec<_> = plan.workers().collect();
    if !workers.is_empty() {
        let step = ui().step(format!(
            "Joining {} worker{} (kubeadm join)",
            workers.len(),
            plural(workers.len())
        ));
        super::kubeadm_join(engine, plan).await?;
        super::install_pod_network(engine, plan, &workers).await?;
        step.done();
    }

    wait_ready(engine, plan, None).await?;
    if !plan.addons.is_empty() {
        let step = ui().step(format!(
            "Installing addons: {}",
            plan.addons
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        super::addons::install(engine, plan).await?;
        step.done();
    }
    export_files(engine, plan, &image.arch).await?;
    Ok(mode)
}

/// Network, node containers, boot: shared by creation and restore. A known
/// run mode (from the snapshot) skips the probe; `wait_boot` waits for
/// systemd and containerd (a restore need not: the readiness wait covers it).
async fn start_nodes(
    launch: &Launch<'_>,
    probe_image: &str,
    known_mode: Option<RunMode>,
    wait_boot: bool,
) -> Result<RunMode> {
    let plan = launch.plan;
    let step = ui().step(format!(
        "Preparing network {} ({})",
        plan.network, plan.subnet
    ));
    super::ensure_network(launch.engine, plan).await?;
    step.done();

    let mode = match known_mode {
        Some(mode) if plan.run_mode == crate::settings::NodeRunMode::Auto => mode,
        _ => {
            node::detect_run_mode(
                launch.engine,
                probe_image,
                &plan.name,
                plan.run_mode,
                plan.node_runtime.as_deref(),
            )
            .await?
        }
    };
    ui().note(match mode {
        RunMode::Privileged => "nodes run as privileged containers",
        RunMode::Capabilities => {
            "nodes run with explicit capabilities (this engine refuses --privileged)"
        }
    });

    let step = ui().step(format!(
        "Starting {} node container{}",
        plan.nodes.len(),
        plural(plan.nodes.len())
    ));
    super::create_nodes(launch, mode).await?;
    if wait_boot {
        node::while_nodes_run(
            launch.engine,
            &plan.nodes,
            super::wait_booted(launch.engine, plan),
        )
        .await?;
    }
    step.done();
    Ok(mode)
}

async fn restore(
    engine: &Engine,
    plan: &ClusterPlan,
    image: &NodeImageRef,
    fingerprint: &str,
    snapshot_port: Option<u16>,
    snapshot_mode: Option<RunMode>,
) -> Result<()> {
    ui().info(format!(
        "Restoring cluster {:?} from its snapshot.",
        plan.name
    ));
    let since = rfc3339(SystemTime::now());
    let launch = Launch {
        engine,
        plan,
        images: plan
            .nodes
            .iter()
            .map(|n| snapshot::image_reference(plan, &n.name))
            .collect(),
        fingerprint: fingerprint.to_string(),
        // Keep the port admin.conf already names, unless the settings say otherwise.
        api_port: plan.apiserver_port.or(snapshot_port),
    };
    let started = start_nodes(&launch, &image.reference, snapshot_mode, false).await;
    let started = match started {
        // The old port may be taken by now: let the engine choose one.
        Err(e) if plan.apiserver_port.is_none() && snapshot_port.is_some() => {
            ui().note(format!("restarting with a new API server port ({e:#})"));
            super::remove_containers(engine, plan).await?;
            start_nodes(
                &Launch {
                    api_port: None,
                    ..launch
                },
                &image.reference,
                snapshot_mode,
                false,
            )
            .await
        }
        other => other,
    };
    started?;
    wait_ready(engine, plan, Some(&since)).await?;
    export_files(engine, plan, &image.arch).await
}

async fn wait_ready(engine: &Engine, plan: &ClusterPlan, since: Option<&str>) -> Result<()> {
    let step = ui().step("Waiting for nodes, kube-proxy and CoreDNS");
    let timeout = Duration::from_secs(300);
    let kubectl = Kubectl::new(engine, &plan.master().container);
    // A Running kube-proxy pod may still fail to program its rules (it has
    // no readiness probe); its health endpoint says whether it synced.
    // Asked alongside the API, as kube-proxy is usually ready well before CoreDNS.
    let proxies = futures_util::future::try_join_all(
        plan.nodes
            .iter()
            .map(|n| node::wait_kube_proxy(engine, n, timeout)),
    );
    node::while_nodes_run(engine, &plan.nodes, async {
        tokio::try_join!(
            kubectl.wait_ready(plan.nodes.len(), timeout, since, &step),
            proxies
        )
    })
    .await?;
    step.done();
    Ok(())
}

async fn export_files(engine: &Engine, plan: &ClusterPlan, arch: &str) -> Result<()> {
    let step = ui().step("Writing admin.conf and kubectl");
    let port = node::published_api_port(engine, plan.master()).await?;
    kubeconfig::export_admin_conf(engine, plan, port).await?;
    kubeconfig::export_kubectl(engine, plan, arch).await?;
    step.done();
    Ok(())
}

/// Remove the node containers; keep the volumes when a snapshot can use them.
pub async fn down(engine: &Engine, plan: &ClusterPlan) -> Result<bool> {
    let nodes = super::node_containers(engine, plan).await?;
    if nodes.is_empty() {
        ui().info(format!(
            "Cluster {:?} is not running; nothing to do.",
            plan.name
        ));
        return Ok(false);
    }
    let keep = matches!(
        snapshot::state(engine, plan).await?,
        SnapshotState::Complete { .. }
    );
    let step = ui().step(format!(
        "Stopping and removing {} node container{}{}",
        nodes.len(),
        plural(nodes.len()),
        if keep { " (the snapshot stays)" } else { "" }
    ));
    super::remove_containers(engine, plan).await?;
    if !keep {
        super::remove_volumes(engine, plan).await?;
    }
    step.done();
    Ok(true)
}

/// Containers, volumes, snapshot images.
async fn remove_all(engine: &Engine, plan: &ClusterPlan) -> Result<()> {
    super::remove_containers(engine, plan).await?;
    super::remove_volumes(engine, plan).await?;
    snapshot::remove_images(engine, plan).await
}

/// `down` plus the snapshot, the network and the files in the home directory.
pub async fn clean(engine: &Engine, plan: &ClusterPlan) -> Result<()> {
    let start = Instant::now();
    remove_all(engine, plan).await?;
    super::remove_network(engine, plan).await?;
    for path in [
        plan.admin_conf(),
        plan.kubectl_path(),
        plan.home_dir.join("kubectl.version"),
    ] {
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("removing {}", path.display()))
            }
            _ => {}
        }
    }
    ui().note(format!("cleaned in {}", seconds(start.elapsed())));
    Ok(())
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the form Kubernetes uses for timestamps, so that
/// they compare as strings.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_match_kubernetes_format() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_481_320);
        assert_eq!(rfc3339(t), "2026-11-24T00:48:40Z");
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00Z");
    }
}
