//! Waiting for the cluster: nodes booted, kube-proxy synced, nodes and
//! CoreDNS Ready; and giving up at once when a node container stops.

use std::future::Future;
use std::time::Duration;

// tokio's clock, which tests can pause and advance.
use tokio::time::Instant;

use futures_util::future::try_join_all;

use crate::cluster::state::plan::NodePlan;
use crate::cluster::steps::kubeadm::API_PORT;
use crate::cluster::steps::kubectl::Fresh;
use crate::cluster::steps::node_ops::NodeOp;
use crate::cluster::{ClusterError, Ctx, Result};
use crate::engine::Engine;

/// Wait until systemd has finished booting and containerd answers, on every node.
pub async fn booted<E: Engine>(
    cx: Ctx<'_, E>,
    nodes: &[&NodePlan],
    timeout: Duration,
) -> Result<()> {
    try_join_all(nodes.iter().map(|n| node_booted(cx, n, timeout))).await?;
    Ok(())
}

async fn node_booted<E: Engine>(cx: Ctx<'_, E>, node: &NodePlan, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    let script = "state=$(systemctl is-system-running 2>/dev/null || true); \
                  case $state in running|degraded) ;; *) echo \"systemd: $state\"; exit 1;; esac; \
                  ctr --namespace k8s.io version >/dev/null 2>&1 || { echo 'containerd: not answering'; exit 1; }";
    let mut last = String::new();
    while start.elapsed() < timeout {
        match NodeOp::BootCheck
            .exec(cx.engine, &node.container, &["sh", "-c", script])
            .await
        {
            Ok(out) if out.exit_code == 0 => return Ok(()),
            Ok(out) => last = out.combined().trim().to_string(),
            Err(e) => last = crate::error::chain(&e),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let failed = cx
        .engine
        .exec(
            &node.container,
            &["systemctl", "--failed", "--no-legend", "--plain"],
            Default::default(),
        )
        .await
        .map(|o| o.stdout_text().trim().to_string())
        .unwrap_or_default();
    Err(ClusterError::BootTimeout {
        node: node.name.clone(),
        secs: timeout.as_secs(),
        last,
        failed: if failed.is_empty() {
            "none".to_string()
        } else {
            failed
        },
    })
}

/// Runs `work`, abandoning it with an error as soon as a node container
/// stops: when a node dies while the cluster starts, waiting on for it would
/// only end in a timeout.
pub async fn while_nodes_run<E: Engine, T>(
    cx: Ctx<'_, E>,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    tokio::select! {
        done = work => done,
        stopped = first_node_stop(cx) => Err(stopped),
    }
}

/// Waits until a node container stops, and describes it with its last output.
async fn first_node_stop<E: Engine>(cx: Ctx<'_, E>) -> ClusterError {
    loop {
        for node in &cx.plan.nodes {
            let status = match cx.engine.inspect_container(&node.container).await {
                Ok(Some(d)) if d.running => continue,
                Ok(Some(d)) => d.status,
                Ok(None) => "removed".to_string(),
                Err(e) => return e.into(),
            };
            let log = cx
                .engine
                .log_tail(&node.container, 20)
                .await
                .unwrap_or_default();
            return ClusterError::NodeStopped {
                container: node.container.clone(),
                status,
                log: log.trim_end().to_string(),
            };
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Wait until kube-proxy on `node` reports that it has synced its rules.
pub async fn kube_proxy<E: Engine>(
    cx: Ctx<'_, E>,
    node: &NodePlan,
    timeout: Duration,
) -> Result<()> {
    let probe = "curl -sSf --max-time 2 http://127.0.0.1:10256/healthz";
    poll_in_node(
        cx,
        node,
        NodeOp::KubeProxyHealth,
        probe,
        "lastUpdated",
        timeout,
    )
    .await
    .map_err(|last| ClusterError::KubeProxyNotHealthy {
        node: node.name.clone(),
        secs: timeout.as_secs(),
        last,
    })
}

/// Wait until the API server on the master says it is ready (`/readyz`,
/// which anyone may ask).
pub async fn api_server<E: Engine>(cx: Ctx<'_, E>, timeout: Duration) -> Result<()> {
    let probe = format!("curl -skf --max-time 2 https://127.0.0.1:{API_PORT}/readyz");
    poll_in_node(
        cx,
        cx.plan.master(),
        NodeOp::ApiReady,
        &probe,
        "ok",
        timeout,
    )
    .await
    .map_err(|last| ClusterError::NotReady {
        secs: timeout.as_secs(),
        last: format!("the API server is not ready: {last}"),
    })
}

/// Wait until the controller manager has signed the cluster-info
/// ConfigMap for the bootstrap token `token_id`: `kubeadm join` looks for
/// the signature only every 5 s, so joins started right after `kubeadm
/// init` lose up to that much per look.
pub async fn join_discovery<E: Engine>(
    cx: Ctx<'_, E>,
    token_id: &str,
    timeout: Duration,
) -> std::result::Result<(), String> {
    let probe = format!(
        "curl -sk --max-time 2 \
         https://127.0.0.1:{API_PORT}/api/v1/namespaces/kube-public/configmaps/cluster-info"
    );
    let signature = format!("jws-kubeconfig-{token_id}");
    poll_in_node(
        cx,
        cx.plan.master(),
        NodeOp::JoinDiscovery,
        &probe,
        &signature,
        timeout,
    )
    .await
}

/// Wait until every node's kubelet serves its pods (lists kube-proxy's on
/// its /pods endpoint, asked from the master with the API server's kubelet
/// client certificate): a kubelet just restarted answers `kubectl exec` and
/// `logs` with "pod does not exist" until it has them from the API.
pub async fn kubelets_serving<E: Engine>(cx: Ctx<'_, E>, timeout: Duration) -> Result<()> {
    try_join_all(cx.plan.nodes.iter().map(|node| async move {
        let probe = format!(
            "curl -sk --max-time 2 --cert {PKI}/apiserver-kubelet-client.crt \
             --key {PKI}/apiserver-kubelet-client.key https://{}:10250/pods",
            node.ip
        );
        poll_in_node(
            cx,
            cx.plan.master(),
            NodeOp::KubeletPods,
            &probe,
            "kube-proxy",
            timeout,
        )
        .await
        .map_err(|last| ClusterError::NotReady {
            secs: timeout.as_secs(),
            last: format!(
                "the kubelet of {} does not list its pods: {last}",
                node.name
            ),
        })
    }))
    .await?;
    Ok(())
}

/// kubeadm's certificates on the master.
const PKI: &str = "/etc/kubernetes/pki";

/// How long one exec of [`poll_in_node`] asks before it hands back.
const POLL_WINDOW_SECS: u64 = 20;

/// Run `probe` (a shell command) in `node` every quarter second until its
/// output holds `pattern`; Err with its last output after `timeout`. The
/// loop runs in the node, one exec per [`POLL_WINDOW_SECS`], not one per
/// try: each exec and each kubectl costs the engine and the node CPU that
/// a starting cluster on two cores is short of.
async fn poll_in_node<E: Engine>(
    cx: Ctx<'_, E>,
    node: &NodePlan,
    op: NodeOp,
    probe: &str,
    pattern: &str,
    timeout: Duration,
) -> std::result::Result<(), String> {
    let start = Instant::now();
    let script = format!(
        "end=$(( $(date +%s) + {POLL_WINDOW_SECS} )); \
         while :; do \
           out=$({probe} 2>&1) && case \"$out\" in *{pattern}*) exit 0;; esac; \
           [ \"$(date +%s)\" -ge \"$end\" ] && {{ echo \"$out\"; exit 1; }}; \
           sleep 0.25; \
         done"
    );
    loop {
        // A node that is still booting may refuse the exec itself.
        let last = match op
            .exec(cx.engine, &node.container, &["sh", "-c", &script])
            .await
        {
            Ok(out) if out.exit_code == 0 => return Ok(()),
            Ok(out) => out.combined().trim().to_string(),
            Err(e) => crate::error::chain(&e),
        };
        if start.elapsed() >= timeout {
            return Err(last);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Nodes Ready, kube-proxy synced on each, CoreDNS ready (without a pod
/// network: nodes registered, kube-proxy synced), counting only what is
/// `fresh` in the API.
pub async fn ready<E: Engine>(cx: Ctx<'_, E>, fresh: Fresh<'_>) -> Result<()> {
    let network = cx.plan.cni.installs_network();
    let step = cx.ui.step(if network {
        "Waiting for nodes, kube-proxy and CoreDNS"
    } else {
        "Waiting for nodes to register and kube-proxy (no pod network)"
    });
    let timeout = Duration::from_secs(300);
    // A Running kube-proxy pod may still fail to program its rules (it has
    // no readiness probe); its health endpoint says whether it synced.
    // Asked alongside the API's view, as kube-proxy is usually ready well
    // before CoreDNS. Neither is asked until the API server is ready: they
    // have nothing to say before, and asking costs CPU.
    step.set_message("the API server is not ready yet");
    let proxies = try_join_all(cx.plan.nodes.iter().map(|n| kube_proxy(cx, n, timeout)));
    let kubectl = cx.kubectl();
    while_nodes_run(cx, async {
        api_server(cx, timeout).await?;
        step.milestone("the API server is ready");
        // A kubelet that holds back kube-proxy or CoreDNS after a restore
        // (it tried before it had listed the Services, and now waits out a
        // back-off of 10 s) is restarted: it lists them at once and starts
        // the pod.
        let restart = async |node: &str| {
            if let Ok(plan) = cx.plan.node(node) {
                super::health::restart_kubelet(cx, plan).await;
            }
        };
        let nodes = cx.plan.nodes.len();
        tokio::try_join!(
            kubectl.wait_ready(nodes, network, timeout, fresh, &step, restart),
            proxies
        )
    })
    .await?;
    step.done();
    Ok(())
}
