//! The cluster lifecycle as a sequence of small named steps acting on the
//! engine: network, nodes, kubeadm init, pod network, joins, readiness,
//! kubeconfig; and `down`/`clean`. All state lives in the engine's objects
//! and their labels, so there is no state file to go stale.

pub mod addons;
pub mod kubeadm;
pub mod kubeconfig;
pub mod kubectl;
pub mod lifecycle;
pub mod load;
pub mod logs;
pub mod node;
pub mod plan;
pub mod snapshot;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use futures_util::future::try_join_all;

use crate::cni::{self, NetworkNode};
use crate::engine::exec::ExecRequest;
use crate::engine::{Engine, LABEL_CLUSTER, LABEL_ROLE};
use crate::settings::CniPlugin;
use crate::ui::ui;
use kubectl::Kubectl;
use plan::{ClusterPlan, NodePlan, RunMode};

/// The cluster's node containers in the engine: name → running?
pub async fn node_containers(
    engine: &Engine,
    plan: &ClusterPlan,
) -> Result<BTreeMap<String, bool>> {
    let containers = engine
        .list_containers(&[(LABEL_CLUSTER, &plan.name), (LABEL_ROLE, "node")])
        .await?;
    Ok(containers
        .into_iter()
        .map(|c| (c.name, c.state == "running"))
        .collect())
}

fn cluster_labels(plan: &ClusterPlan, role: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_CLUSTER.to_string(), plan.name.clone()),
        (LABEL_ROLE.to_string(), role.to_string()),
    ])
}

/// Create the cluster network, replacing one of ours with another subnet.
pub async fn ensure_network(engine: &Engine, plan: &ClusterPlan) -> Result<()> {
    if let Some(existing) = engine.inspect_network(&plan.network).await? {
        if existing.labels.get(LABEL_CLUSTER) != Some(&plan.name) {
            bail!(
                "a Docker network named {} exists but was not made by local-cluster for cluster {:?}; \
                 remove it (`docker network rm {}`) or choose another --cluster-name",
                plan.network,
                plan.name,
                plan.network
            );
        }
        if existing.subnets == [plan.subnet.to_string()] {
            return Ok(());
        }
        ui().note(format!(
            "network {} has subnet {:?}, want {}: recreating it",
            plan.network, existing.subnets, plan.subnet
        ));
        engine.remove_network(&plan.network).await?;
    }
    for other in engine.list_networks().await? {
        for subnet in &other.subnets {
            if let Ok(net) = subnet.parse::<ipnet::Ipv4Net>() {
                if net.contains(&plan.subnet.network()) || plan.subnet.contains(&net.network()) {
                    bail!(
                        "dind.subnet {} overlaps the subnet {} of the Docker network {:?}; \
                         choose another --dind-subnet",
                        plan.subnet,
                        net,
                        other.name
                    );
                }
            }
        }
    }
    engine
        .create_network(
            &plan.network,
            &plan.subnet.to_string(),
            &plan.gateway.to_string(),
            &cluster_labels(plan, "network"),
        )
        .await?;
    Ok(())
}

/// What starting node containers needs besides the plan.
pub struct Launch<'a> {
    pub engine: &'a Engine,
    pub plan: &'a ClusterPlan,
    /// One image per node, in plan order (the node image, or snapshots).
    pub images: Vec<String>,
    pub fingerprint: String,
    /// Host port for the API server; None lets the engine choose.
    pub api_port: Option<u16>,
}

/// Create, start and boot every node container (in parallel).
pub async fn create_nodes(launch: &Launch<'_>, mode: RunMode) -> Result<()> {
    let engine = launch.engine;
    let plan = launch.plan;
    // A remote engine's port must be reachable from this machine.
    let bind_ip = if engine.endpoint().is_remote() {
        "0.0.0.0"
    } else {
        "127.0.0.1"
    };
    try_join_all(
        plan.nodes
            .iter()
            .zip(&launch.images)
            .map(|(node, image)| async move {
                if !engine.volume_exists(&node.var_volume).await? {
                    engine
                        .create_volume(&node.var_volume, &cluster_labels(plan, "node-var"))
                        .await?;
                }
                let spec = node::container_spec(
                    plan,
                    node,
                    image,
                    mode,
                    bind_ip,
                    launch.api_port,
                    &launch.fingerprint,
                );
                engine
                    .create_container(&spec)
                    .await
                    .with_context(|| format!("creating node {}", node.name))?;
                let started = engine.start_container(&node.container).await;
                if let (Err(e), Some(port)) = (&started, launch.api_port) {
                    let text = crate::engine::error_chain(e);
                    if node.role == plan::Role::ControlPlane
                        && (text.contains("already in use") || text.contains("already allocated"))
                    {
                        anyhow::bail!(
                            "host port {bind_ip}:{port} for the API server is taken by another \
                             program; set another cluster.apiServerPort, or none to get a free one ({text})"
                        );
                    }
                }
                started?;
                anyhow::Ok(())
            }),
    )
    .await?;
    Ok(())
}

pub async fn wait_booted(engine: &Engine, plan: &ClusterPlan) -> Result<()> {
    try_join_all(
        plan.nodes
            .iter()
            .map(|n| node::wait_booted(engine, n, Duration::from_secs(120))),
    )
    .await?;
    Ok(())
}

/// Run a long kubeadm command, its output shown at `--v 2`.
async fn run_kubeadm(engine: &Engine, node: &NodePlan, args: &[&str]) -> Result<()> {
    let mut argv = vec!["kubeadm"];
    argv.extend_from_slice(args);
    let verbose = format!("--v={}", if ui().verbosity() >= 3 { 5 } else { 1 });
    argv.push(&verbose);
    let name = node.name.clone();
    let mut show = move |line: &str| ui().detail(format!("[{name}] {line}"));
    engine
        .exec_with(
            &node.container,
            &argv,
            ExecRequest {
                on_line: Some(&mut show),
                ..Default::default()
            },
        )
        .await?;
    Ok(())
}

pub async fn kubeadm_init(engine: &Engine, plan: &ClusterPlan) -> Result<()> {
    let master = plan.master();
    let config = kubeadm::init_config(plan, &engine.endpoint().published_address());
    engine
        .write_file(
            &master.container,
            kubeadm::CONFIG_PATH,
            0o600,
            config.as_bytes(),
        )
        .await?;
    run_kubeadm(engine, master, &["init", "--config", kubeadm::CONFIG_PATH])
        .await
        .context("kubeadm init failed")
}

pub async fn kubeadm_join(engine: &Engine, plan: &ClusterPlan) -> Result<()> {
    try_join_all(plan.workers().map(|node| async move {
        let config = kubeadm::join_config(plan, node);
        engine
            .write_file(
                &node.container,
                kubeadm::CONFIG_PATH,
                0o600,
                config.as_bytes(),
            )
            .await?;
        run_kubeadm(engine, node, &["join", "--config", kubeadm::CONFIG_PATH])
            .await
            .with_context(|| format!("kubeadm join of {} failed", node.name))
    }))
    .await?;
    Ok(())
}

/// Adjust what kubeadm deployed where a local cluster wants otherwise:
/// CoreDNS's readiness probe every 2 s instead of 10, so that DNS is back
/// within seconds of a snapshot restore (restarted CoreDNS pods only serve
/// through the Service once a probe has passed).
pub async fn tune_system_pods(engine: &Engine, plan: &ClusterPlan) -> Result<()> {
    Kubectl::new(engine, &plan.master().container)
        .run(&[
            "-n",
            "kube-system",
            "patch",
            "deployment",
            "coredns",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/template/spec/containers/0/readinessProbe/periodSeconds","value":1}]"#,
        ])
        .await
        .context("tuning CoreDNS")?;
    Ok(())
}

/// Install the pod network on `nodes` (a subset, after they registered).
pub async fn install_pod_network(
    engine: &Engine,
    plan: &ClusterPlan,
    nodes: &[&NodePlan],
) -> Result<()> {
    match plan.cni {
        CniPlugin::Bridge => {}
        other => bail!(
            "the {} pod network is not available yet; use --cni-plugin bridge",
            other.as_str()
        ),
    }
    let kubectl = Kubectl::new(engine, &plan.master().container);
    // Pod ranges are allocated when nodes register; wait for each one's.
    let mut all = Vec::new();
    for attempt in 0.. {
        let statuses = kubectl.nodes().await?;
        all = plan
            .nodes
            .iter()
            .filter_map(|n| {
                let status = statuses.iter().find(|s| s.name == n.name)?;
                Some(NetworkNode {
                    container: n.container.clone(),
                    name: n.name.clone(),
                    ip: n.ip,
                    pod_cidr: status.pod_cidr.as_deref()?.parse().ok()?,
                })
            })
            .collect::<Vec<_>>();
        let complete = nodes.iter().all(|n| all.iter().any(|a| a.name == n.name));
        if complete {
            break;
        }
        if attempt > 120 {
            bail!("nodes registered without pod ranges (spec.podCIDR); is the controller manager running?");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Every node that has a range learns every other's (routes are idempotent).
    try_join_all(
        all.iter().map(|n| {
            let all = &all;
            async move {
                cni::bridge::install(engine, n, all, plan.pod_subnet, plan.service_subnet).await
            }
        }),
    )
    .await?;
    Ok(())
}

/// Stop (cleanly: systemd shuts down in order on SIGRTMIN+3, so etcd and the
/// kubelet stop before the container does) and remove every container of the
/// cluster.
pub async fn remove_containers(engine: &Engine, plan: &ClusterPlan) -> Result<()> {
    let containers = engine
        .list_containers(&[(LABEL_CLUSTER, &plan.name)])
        .await?;
    try_join_all(containers.iter().map(|c| async move {
        if c.state == "running" {
            engine.stop_container(&c.name, 30).await?;
        }
        engine.remove_container(&c.name).await
    }))
    .await?;
    Ok(())
}

/// Remove the cluster's volumes (the nodes' /var).
pub async fn remove_volumes(engine: &Engine, plan: &ClusterPlan) -> Result<()> {
    for volume in engine.list_volumes(&[(LABEL_CLUSTER, &plan.name)]).await? {
        engine.remove_volume(&volume).await?;
    }
    Ok(())
}

/// Remove the network, if it is ours.
pub async fn remove_network(engine: &Engine, plan: &ClusterPlan) -> Result<()> {
    if let Some(net) = engine.inspect_network(&plan.network).await? {
        if net.labels.get(LABEL_CLUSTER) == Some(&plan.name) {
            engine.remove_network(&plan.network).await?;
        }
    }
    Ok(())
}
