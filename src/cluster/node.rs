//! Node containers: how they are created, in which run mode, and when they
//! count as booted.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::kubeadm::API_PORT;
use super::plan::{
    ClusterPlan, NodePlan, Role, RunMode, LABEL_FINGERPRINT, LABEL_NODE_NAME, LABEL_NODE_ROLE,
};
use crate::engine::{
    ContainerSpec, Engine, NetworkAttachment, PublishedPort, LABEL_CLUSTER, LABEL_ROLE,
};
use crate::settings::NodeRunMode;
use crate::ui::ui;

/// Decide how node containers run: privileged where the engine allows it,
/// otherwise with explicit capabilities. Probed with a throwaway container.
pub async fn detect_run_mode(
    engine: &Engine,
    image: &str,
    cluster: &str,
    setting: NodeRunMode,
    runtime: Option<&str>,
) -> Result<RunMode> {
    match setting {
        NodeRunMode::Privileged => return Ok(RunMode::Privileged),
        NodeRunMode::Capabilities => return Ok(RunMode::Capabilities),
        NodeRunMode::Auto => {}
    }
    let name = format!("local-cluster-probe-{cluster}-{}", std::process::id());
    let spec = ContainerSpec {
        name: name.clone(),
        image: image.to_string(),
        entrypoint: Some(vec!["true".to_string()]),
        cmd: Some(vec![]),
        privileged: true,
        runtime: runtime.map(str::to_string),
        labels: BTreeMap::from([
            (LABEL_CLUSTER.to_string(), cluster.to_string()),
            (LABEL_ROLE.to_string(), "probe".to_string()),
        ]),
        ..Default::default()
    };
    engine.remove_container(&name).await?;
    engine.create_container(&spec).await?;
    let started = engine.start_container(&name).await;
    engine.remove_container(&name).await?;
    Ok(match started {
        Ok(()) => RunMode::Privileged,
        Err(e) => {
            ui().note(format!(
                "privileged containers are refused here ({}); using explicit capabilities",
                crate::engine::error_chain(&e)
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
            (LABEL_ROLE.to_string(), "node".to_string()),
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

/// Wait until systemd has finished booting and containerd answers.
pub async fn wait_booted(engine: &Engine, node: &NodePlan, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    let script = "state=$(systemctl is-system-running 2>/dev/null || true); \
                  case $state in running|degraded) ;; *) echo \"systemd: $state\"; exit 1;; esac; \
                  ctr --namespace k8s.io version >/dev/null 2>&1 || { echo 'containerd: not answering'; exit 1; }";
    let mut last = String::new();
    while start.elapsed() < timeout {
        match engine
            .exec_raw(&node.container, &["sh", "-c", script], Default::default())
            .await
        {
            Ok(out) if out.exit_code == 0 => return Ok(()),
            Ok(out) => last = out.combined().trim().to_string(),
            Err(e) => last = format!("{e:#}"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let failed = engine
        .exec_raw(
            &node.container,
            &["systemctl", "--failed", "--no-legend", "--plain"],
            Default::default(),
        )
        .await
        .map(|o| o.stdout)
        .unwrap_or_default();
    bail!(
        "node {} did not finish booting within {}s (last state: {last}); failed units: {}",
        node.name,
        timeout.as_secs(),
        if failed.trim().is_empty() {
            "none"
        } else {
            failed.trim()
        }
    )
}

/// Runs `work`, abandoning it with an error as soon as a node container
/// stops: when a node dies while the cluster starts, waiting on for it would
/// only end in a timeout.
pub async fn while_nodes_run<T>(
    engine: &Engine,
    nodes: &[NodePlan],
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    tokio::select! {
        done = work => done,
        stopped = first_node_stop(engine, nodes) => Err(stopped),
    }
}

/// Waits until a node container stops, and describes it with its last output.
async fn first_node_stop(engine: &Engine, nodes: &[NodePlan]) -> anyhow::Error {
    loop {
        for node in nodes {
            let status = match engine.inspect_container(&node.container).await {
                Ok(Some(d)) if d.running => continue,
                Ok(Some(d)) => d.status,
                Ok(None) => "removed".to_string(),
                Err(e) => return e.into(),
            };
            let log = engine
                .log_tail(&node.container, 20)
                .await
                .unwrap_or_default();
            return anyhow::anyhow!(
                "node container {} stopped ({status}) while the cluster was starting; its last output:\n{}",
                node.container,
                log.trim_end()
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The inotify limits are the host's and shared by every node (all run as
/// the same root user): the kubelet, containerd and systemd of each node
/// take instances, and once they run out kube-proxy and the kubelet fail
/// with "too many open files". Warn when the limit is low for the cluster.
pub async fn check_inotify_limit(engine: &Engine, node: &NodePlan, nodes: usize) -> Result<()> {
    let text = engine
        .exec(
            &node.container,
            &["cat", "/proc/sys/fs/inotify/max_user_instances"],
        )
        .await?;
    let limit: usize = text.trim().parse().unwrap_or(usize::MAX);
    // About 40 instances per node, with room for the host's own users.
    let wanted = (nodes * 40 + 256).max(512);
    if limit < wanted {
        ui().warn(format!(
            "the host allows {limit} inotify instances per user (fs.inotify.max_user_instances), \
             shared by all nodes; {nodes} nodes want about {wanted}. If pods fail with \
             \"too many open files\", raise it: sudo sysctl -w fs.inotify.max_user_instances={wanted}"
        ));
    }
    Ok(())
}

/// The host port the API server is published on.
pub async fn published_api_port(engine: &Engine, master: &NodePlan) -> Result<u16> {
    let details = engine
        .inspect_container(&master.container)
        .await?
        .with_context(|| format!("container {} disappeared", master.container))?;
    details
        .host_ports
        .get(&API_PORT)
        .copied()
        .with_context(|| format!("{} publishes no port for the API server", master.container))
}

/// Wait until kube-proxy on `node` reports that it has synced its rules.
pub async fn wait_kube_proxy(engine: &Engine, node: &NodePlan, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    loop {
        let out = engine
            .exec_raw(
                &node.container,
                &[
                    "curl",
                    "-sSf",
                    "--max-time",
                    "2",
                    "http://127.0.0.1:10256/healthz",
                ],
                Default::default(),
            )
            .await;
        // A node that is still booting may refuse the exec itself.
        let last = match out {
            Ok(out) if out.exit_code == 0 && out.stdout.contains("lastUpdated") => return Ok(()),
            Ok(out) => out.combined().trim().to_string(),
            Err(e) => format!("{e:#}"),
        };
        if start.elapsed() >= timeout {
            bail!(
                "kube-proxy on {} is not healthy after {}s: {last}",
                node.name,
                timeout.as_secs(),
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
