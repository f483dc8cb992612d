//! Node containers: how they are created, in which run mode, and removed.

use std::collections::BTreeMap;

use futures_util::future::try_join_all;

use crate::cluster::state::plan::{ClusterPlan, NodePlan, Role, RunMode};
use crate::cluster::steps::kubeadm::API_PORT;
use crate::cluster::steps::node_ops::NodeOp;
use crate::cluster::{cluster_labels, ClusterError, Ctx, Result};
use crate::engine::temporary::Temporary;
use crate::engine::{ContainerSpec, ContainerState, Engine, NetworkAttachment, PublishedPort};
use crate::labels::{
    LABEL_CLUSTER, LABEL_FINGERPRINT, LABEL_NODE_NAME, LABEL_NODE_ROLE, LABEL_ROLE, ROLE_NODE,
    ROLE_NODE_VAR, ROLE_PROBE,
};
use crate::settings::NodeRunMode;

/// Decide how node containers run: privileged where the engine allows it,
/// otherwise with explicit capabilities. Probed with a throwaway container.
pub async fn detect_run_mode<E: Engine>(cx: Ctx<'_, E>, image: &str) -> Result<RunMode> {
    let plan = cx.plan;
    match plan.run_mode {
        NodeRunMode::Privileged => return Ok(RunMode::Privileged),
        NodeRunMode::Capabilities => return Ok(RunMode::Capabilities),
        NodeRunMode::Auto => {}
    }
    let name = format!("local-cluster-probe-{}-{}", plan.name, std::process::id());
    let spec = ContainerSpec {
        name: name.clone(),
        image: image.to_string(),
        entrypoint: Some(vec!["true".to_string()]),
        cmd: Some(vec![]),
        privileged: true,
        runtime: plan.node_runtime.clone(),
        labels: cluster_labels(plan, ROLE_PROBE),
        ..Default::default()
    };
    let probe = Temporary::list(&name);
    cx.engine.remove_container(&name).await?;
    cx.engine.create_container(&spec).await?;
    let started = cx.engine.start_container(&name).await;
    probe.remove(cx.engine).await?;
    Ok(match started {
        Ok(()) => RunMode::Privileged,
        Err(e) => {
            cx.ui.note(format!(
                "privileged containers are refused here ({}); using explicit capabilities",
                crate::error::chain(&e)
            ));
            RunMode::Capabilities
        }
    })
}

/// The container for one node.
pub fn container_spec(
    plan: &ClusterPlan,
    node: &NodePlan,
    image: &str,
    mode: RunMode,
    published_ip: &str,
    api_port: Option<u16>,
    fingerprint: &str,
) -> ContainerSpec {
    let mut spec = ContainerSpec {
        name: node.container.clone(),
        image: image.to_string(),
        hostname: Some(node.name.clone()),
        labels: BTreeMap::from([
            (LABEL_CLUSTER.to_string(), plan.name.clone()),
            (LABEL_ROLE.to_string(), ROLE_NODE.to_string()),
            (LABEL_NODE_ROLE.to_string(), node.role.as_str().to_string()),
            (LABEL_NODE_NAME.to_string(), node.name.clone()),
            (LABEL_FINGERPRINT.to_string(), fingerprint.to_string()),
        ]),
        network: Some(NetworkAttachment {
            network: plan.network.clone(),
            ipv4: Some(node.ip),
            aliases: vec![node.name.clone()],
        }),
        tmpfs: BTreeMap::from([
            ("/tmp".to_string(), String::new()),
            ("/run".to_string(), String::new()),
            ("/run/lock".to_string(), String::new()),
        ]),
        binds: vec![format!("{}:/var", node.var_volume)],
        // Every node's name in every node's /etc/hosts: the nodes find each
        // other (`kubeadm join` the master) without the engine's DNS, which
        // Podman's networks have only with a DNS plugin.
        extra_hosts: plan
            .nodes
            .iter()
            .map(|n| format!("{}:{}", n.name, n.ip))
            .collect(),
        // cgroup v1 engines default to the host's namespace; each node needs
        // its own so that its kubelet manages only its own cgroup subtree.
        cgroupns_private: true,
        tty: true,
        runtime: plan.node_runtime.clone(),
        ..Default::default()
    };
    match mode {
        RunMode::Privileged => spec.privileged = true,
        RunMode::Capabilities => {
            spec.cap_add = vec!["ALL".to_string()];
            // What VMs like Firecracker lack from their bounding set.
            spec.cap_drop = vec!["SYS_RESOURCE".to_string()];
            spec.security_opt = vec![
                "seccomp=unconfined".to_string(),
                "apparmor=unconfined".to_string(),
            ];
            // Writable /proc/sys for the kubelet's and kube-proxy's sysctls.
            spec.unmask_system_paths = true;
            spec.device_cgroup_rules = vec!["a *:* rwm".to_string()];
            // The kubelet watches the kernel log for OOM kills.
            spec.devices = vec!["/dev/kmsg".to_string()];
        }
    }
    if node.role == Role::ControlPlane {
        spec.ports.push(PublishedPort {
            container_port: API_PORT,
            host_ip: published_ip.to_string(),
            host_port: api_port.unwrap_or(0),
        });
    }
    spec
}

/// What starting node containers needs besides the plan.
pub struct Launch {
    /// One image per node, in plan order (the node image, or snapshots).
    pub images: Vec<String>,
    pub fingerprint: String,
    /// Host port for the API server; None lets the engine choose.
    pub api_port: Option<u16>,
    pub mode: RunMode,
}

/// Create and start every node container with its /var volume: the
/// master's first, then the workers' together. Everything waits on the
/// master's boot (its API server); the workers have nothing to do before
/// it answers, and started beside it they slow the engine's start of it.
pub async fn create_all<E: Engine>(cx: Ctx<'_, E>, launch: &Launch) -> Result<()> {
    let plan = cx.plan;
    let (masters, workers): (Vec<_>, Vec<_>) = plan
        .nodes
        .iter()
        .zip(&launch.images)
        .partition(|(node, _)| node.role == Role::ControlPlane);
    for nodes in [masters, workers] {
        try_join_all(
            nodes
                .into_iter()
                .map(|(node, image)| create_one(cx, launch, node, image)),
        )
        .await?;
    }
    Ok(())
}

/// Replace the named nodes' containers (stopped first when they run) by
/// new ones from their images in `launch`, keeping their /var volumes.
pub async fn replace<E: Engine>(cx: Ctx<'_, E>, launch: &Launch, names: &[String]) -> Result<()> {
    let (engine, plan) = (cx.engine, cx.plan);
    try_join_all(
        plan.nodes
            .iter()
            .zip(&launch.images)
            .filter(|(node, _)| names.contains(&node.name))
            .map(|(node, image)| async move {
                if let Some(details) = engine.inspect_container(&node.container).await? {
                    if details.running {
                        engine.stop_container(&node.container, 30).await?;
                    }
                    engine.remove_container(&node.container).await?;
                }
                create_one(cx, launch, node, image).await
            }),
    )
    .await?;
    Ok(())
}

async fn create_one<E: Engine>(
    cx: Ctx<'_, E>,
    launch: &Launch,
    node: &NodePlan,
    image: &str,
) -> Result<()> {
    let (engine, plan) = (cx.engine, cx.plan);
    // A remote engine's port must be reachable from this machine.
    let bind_ip = &engine.endpoint().bind_address();
    if !engine.volume_exists(&node.var_volume).await? {
        engine
            .create_volume(&node.var_volume, &cluster_labels(plan, ROLE_NODE_VAR))
            .await?;
    }
    let spec = container_spec(
        plan,
        node,
        image,
        launch.mode,
        bind_ip,
        launch.api_port,
        &launch.fingerprint,
    );
    let created = match engine.create_container(&spec).await {
        Err(e) if e.is_conflict() && remove_leftover(cx, node).await? => {
            engine.create_container(&spec).await
        }
        other => other,
    };
    created.map_err(|source| ClusterError::CreateNode {
        node: node.name.clone(),
        source,
    })?;
    engine
        .start_container(&node.container)
        .await
        .map_err(|source| match launch.api_port {
            Some(port) if node.role == Role::ControlPlane && source.is_port_in_use() => {
                ClusterError::ApiPortTaken {
                    address: bind_ip.to_string(),
                    port,
                    source,
                }
            }
            _ => ClusterError::CreateNode {
                node: node.name.clone(),
                source,
            },
        })
}

/// A container of the node's name found when creating it: one this
/// cluster's interrupted command left (the engine finished creating it after
/// the command was killed, so the listing before did not show it) is removed
/// and true returned; another is left alone.
async fn remove_leftover<E: Engine>(cx: Ctx<'_, E>, node: &NodePlan) -> Result<bool> {
    let engine = cx.engine;
    let Some(found) = engine.inspect_container(&node.container).await? else {
        return Ok(false);
    };
    let label = |key: &str| found.labels.get(key).map(String::as_str);
    if label(LABEL_CLUSTER) != Some(cx.plan.name.as_str()) || label(LABEL_ROLE) != Some(ROLE_NODE) {
        return Ok(false);
    }
    cx.ui.info(format!(
        "{}: removing the container an interrupted command left",
        node.name
    ));
    if found.running {
        engine.stop_container(&node.container, 30).await?;
    }
    engine.remove_container(&node.container).await?;
    Ok(true)
}

/// Kill and remove every container of the cluster, all at once.
///
/// Killed, not shut down: an orderly systemd shutdown takes 5 s and more
/// (the API server drains, CoreDNS waits out its lame-duck period), and
/// gains nothing for the snapshot. What a restore needs is on the node's
/// /var volume, written by programs that survive being killed at any
/// instant: etcd acknowledges a write only once its log holds it, and
/// containerd's and the kubelet's files are replaced whole. The host keeps
/// running, so nothing written is lost with the processes.
/// `bench/down-loop.sh` writes to etcd just before each `down` and looks
/// for it after the restore.
pub async fn remove_all<E: Engine>(cx: Ctx<'_, E>) -> Result<()> {
    let engine = cx.engine;
    let containers = engine
        .list_containers(&[(LABEL_CLUSTER, &cx.plan.name)])
        .await?;
    try_join_all(containers.iter().map(|c| async move {
        if c.state == ContainerState::Running {
            engine.kill_container(&c.name).await?;
        }
        engine.remove_container(&c.name).await
    }))
    .await?;
    Ok(())
}

/// Remove the cluster's volumes (the nodes' /var).
pub async fn remove_volumes<E: Engine>(cx: Ctx<'_, E>) -> Result<()> {
    for volume in cx
        .engine
        .list_volumes(&[(LABEL_CLUSTER, &cx.plan.name)])
        .await?
    {
        cx.engine.remove_volume(&volume).await?;
    }
    Ok(())
}

/// The host port the API server is published on.
pub async fn published_api_port<E: Engine>(cx: Ctx<'_, E>) -> Result<u16> {
    let master = &cx.plan.master().container;
    let details = cx
        .engine
        .inspect_container(master)
        .await?
        .ok_or_else(|| ClusterError::Vanished(master.clone()))?;
    details
        .host_ports
        .get(&API_PORT)
        .copied()
        .ok_or_else(|| ClusterError::NoApiPort(master.clone()))
}

/// The inotify limits are the host's and shared by every node (all run as
/// the same root user): the kubelet, containerd and systemd of each node
/// take instances, and once they run out kube-proxy and the kubelet fail
/// with "too many open files". Warn when the limit is low for the cluster.
pub async fn check_inotify_limit<E: Engine>(cx: Ctx<'_, E>) -> Result<()> {
    let text = NodeOp::InotifyLimit
        .run(
            cx.engine,
            &cx.plan.master().container,
            &["cat", "/proc/sys/fs/inotify/max_user_instances"],
        )
        .await?
        .stdout_text();
    let limit: usize = text.trim().parse().unwrap_or(usize::MAX);
    let nodes = cx.plan.nodes.len();
    // About 40 instances per node, with room for the host's own users.
    let wanted = (nodes * 40 + 256).max(512);
    if limit < wanted {
        cx.ui.warn(format!(
            "the host allows {limit} inotify instances per user (fs.inotify.max_user_instances), \
             shared by all nodes; {nodes} nodes want about {wanted}. If pods fail with \
             \"too many open files\", raise it: sudo sysctl -w fs.inotify.max_user_instances={wanted}"
        ));
    }
    Ok(())
}
