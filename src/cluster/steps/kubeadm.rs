//! kubeadm configuration files (kubeadm.k8s.io/v1beta4), one per node,
//! rather than a pile of flags: what a Kubernetes engineer would write for
//! nodes that are containers.

use std::fmt::Write as _;

use futures_util::future::try_join_all;

use crate::cluster::state::plan::{ClusterPlan, NodePlan};
use crate::cluster::{ClusterError, Ctx, Result};
use crate::engine::{Engine, EngineError, ExecRequest};
use crate::settings::format_duration;

/// Where the configuration is written inside a node.
pub const CONFIG_PATH: &str = "/etc/kubeadm-local-cluster/kubeadm.yaml";
pub const API_PORT: u16 = 6443;
pub const CRI_SOCKET: &str = "unix:///run/containerd/containerd.sock";

/// Preflight checks that do not apply to nodes that are containers.
const IGNORED_PREFLIGHT: [(&str, &str); 5] = [
    // The node shares the host's kernel, whose config kubeadm cannot read,
    // and may run on cgroup v1 (accepted through failCgroupV1: false).
    (
        "SystemVerification",
        "kernel config and cgroup version are the host's",
    ),
    (
        "Swap",
        "swap is the host's; the kubelet runs with failSwapOn: false",
    ),
    ("NumCPU", "CPUs are the host's, shared by every node"),
    ("Mem", "memory is the host's, shared by every node"),
    (
        "FileContent--proc-sys-net-bridge-bridge-nf-call-iptables",
        "br_netfilter may be built in without a per-namespace switch",
    ),
];

/// A bootstrap token derived from the cluster name, so that joins after a
/// snapshot restore still match. Format: [a-z0-9]{6}.[a-z0-9]{16}.
pub fn bootstrap_token(plan: &ClusterPlan) -> String {
    let hash = crate::artifacts::CacheKey::new()
        .with("cluster", &plan.name)
        .with("network", &plan.network)
        .hash();
    format!("{}.{}", &hash[..6], &hash[6..22])
}

fn node_registration(out: &mut String, node: &NodePlan, taints_off: bool) {
    let _ = writeln!(out, "nodeRegistration:");
    let _ = writeln!(out, "  name: {}", node.name);
    let _ = writeln!(out, "  criSocket: {CRI_SOCKET}");
    // Every image is preloaded in the node image.
    let _ = writeln!(out, "  imagePullPolicy: Never");
    let _ = writeln!(out, "  ignorePreflightErrors:");
    for (check, why) in IGNORED_PREFLIGHT {
        let _ = writeln!(out, "  - {check}  # {why}");
    }
    let _ = writeln!(out, "  kubeletExtraArgs:");
    let _ = writeln!(out, "  - name: node-ip");
    let _ = writeln!(out, "    value: \"{}\"", node.ip);
    if taints_off {
        // An empty list (not an absent field) means no control-plane taint.
        let _ = writeln!(out, "  taints: []");
    }
}

/// A kubeadm list of `name`/`value` entries (extra arguments, environment),
/// its dashes at `indent`.
fn name_values(out: &mut String, indent: &str, entries: &[(&str, &str)]) {
    for (name, value) in entries {
        let _ = writeln!(out, "{indent}- name: {name}");
        let _ = writeln!(out, "{indent}  value: \"{value}\"");
    }
}

/// The API server's GOGC (Go's default is 100).
const API_SERVER_GOGC: &str = "50";

/// InitConfiguration + ClusterConfiguration + KubeletConfiguration +
/// KubeProxyConfiguration for the master.
pub fn init_config(plan: &ClusterPlan, published_address: &str) -> String {
    let master = plan.master();
    let mut out = String::new();
    let _ = writeln!(out, "apiVersion: kubeadm.k8s.io/v1beta4");
    let _ = writeln!(out, "kind: InitConfiguration");
    let _ = writeln!(out, "bootstrapTokens:");
    let _ = writeln!(out, "- token: \"{}\"", bootstrap_token(plan));
    let _ = writeln!(
        out,
        "  ttl: 0s  # local clusters are restored from snapshots long after init"
    );
    let _ = writeln!(out, "localAPIEndpoint:");
    let _ = writeln!(out, "  advertiseAddress: \"{}\"", master.ip);
    let _ = writeln!(out, "  bindPort: {API_PORT}");
    node_registration(&mut out, master, plan.untainted_master);
    let _ = writeln!(out, "---");
    let _ = writeln!(out, "apiVersion: kubeadm.k8s.io/v1beta4");
    let _ = writeln!(out, "kind: ClusterConfiguration");
    let _ = writeln!(out, "clusterName: {}", plan.kube_cluster_name());
    let _ = writeln!(out, "kubernetesVersion: {}", plan.kubernetes_version);
    let _ = writeln!(out, "imageRepository: {}", plan.image_repository);
    let _ = writeln!(out, "controlPlaneEndpoint: \"{}:{API_PORT}\"", master.name);
    let validity = format_duration(plan.certificate_validity);
    let _ = writeln!(out, "certificateValidityPeriod: {validity}");
    let _ = writeln!(out, "networking:");
    let _ = writeln!(out, "  podSubnet: \"{}\"", plan.pod_subnet);
    let _ = writeln!(out, "  serviceSubnet: \"{}\"", plan.service_subnet);
    let _ = writeln!(out, "  dnsDomain: cluster.local");
    // A lone etcd member elects itself only after a randomized election
    // timeout (default 1 s, up to 10 ticks of 100 ms after etcd's
    // fast-forward), and the API server waits for it at every start:
    // shorter ticks make that ~0.15 s instead of ~0.55 s. One member has no
    // peer to miss heartbeats from, so nothing else changes.
    let _ = writeln!(out, "etcd:");
    let _ = writeln!(out, "  local:");
    let _ = writeln!(out, "    extraArgs:");
    name_values(
        &mut out,
        "    ",
        &[("heartbeat-interval", "50"), ("election-timeout", "250")],
    );
    let _ = writeln!(out, "apiServer:");
    let _ = writeln!(out, "  certSANs:");
    let mut sans = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        master.name.clone(),
        master.ip.to_string(),
        master.container.clone(),
    ];
    if !sans.contains(&published_address.to_string()) {
        sans.push(published_address.to_string());
    }
    for san in sans {
        let _ = writeln!(out, "  - \"{san}\"");
    }
    // The API server holds most of an idle cluster's memory: its Go heap
    // grows to twice what is live before a collection. Collected at half
    // again instead, an idle cluster holds ~35 MiB less; idle, it
    // allocates little, so the extra collections cost little CPU.
    let _ = writeln!(out, "  extraEnvs:");
    name_values(&mut out, "  ", &[("GOGC", API_SERVER_GOGC)]);
    let _ = writeln!(out, "controllerManager:");
    let _ = writeln!(out, "  extraArgs:");
    // Pod ranges per node come from the controller manager; the bridge CNI
    // reads them from the Node objects. The kubelets' client certificates,
    // signed by the controller manager, last as long as kubeadm's.
    name_values(
        &mut out,
        "  ",
        &[
            ("allocate-node-cidrs", "true"),
            ("cluster-signing-duration", &validity),
        ],
    );
    // At start the controller manager gets each controller its own
    // service account token, one API request after another, throttled by
    // the client's default 20 requests a second: seconds during which no
    // pod range is given and no join is signed. Its lease retried every
    // 0.5 s rather than 2-4.4 s once RBAC lets it ask (the default lease
    // duration and renew deadline stay).
    name_values(
        &mut out,
        "  ",
        &[
            ("kube-api-qps", "200"),
            ("kube-api-burst", "400"),
            ("leader-elect-retry-period", "500ms"),
        ],
    );
    let _ = writeln!(out, "scheduler:");
    let _ = writeln!(out, "  extraArgs:");
    name_values(&mut out, "  ", &[("leader-elect-retry-period", "500ms")]);
    let _ = writeln!(out, "---");
    out.push_str(&kubelet_config());
    let _ = writeln!(out, "---");
    out.push_str(&kube_proxy_config(plan));
    out
}

/// Settings that suit a kubelet inside a container sharing the host's
/// kernel, disk and memory with its sibling nodes.
fn kubelet_config() -> String {
    "apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
# Many hosts (CI VMs among them) still run cgroup v1.
failCgroupV1: false
failSwapOn: false
# Written at each boot by the node's entrypoint: the engine's DNS server,
# reachable from pods through the node's address.
resolvConf: /etc/kubeadm-local-cluster/resolv.conf
# The disk is the host's: don't evict pods or delete preloaded images when
# the host's disk fills up with unrelated things.
imageGCHighThresholdPercent: 100
evictionHard:
  nodefs.available: \"0%\"
  nodefs.inodesFree: \"0%\"
  imagefs.available: \"0%\"
"
    .to_string()
}

fn kube_proxy_config(plan: &ClusterPlan) -> String {
    format!(
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clusterCIDR: \"{}\"
# /sys is read-only in a node and conntrack table sizes are the host's:
# leave them alone.
conntrack:
  maxPerCore: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
",
        plan.pod_subnet
    )
}

/// JoinConfiguration for a worker.
pub fn join_config(plan: &ClusterPlan, node: &NodePlan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "apiVersion: kubeadm.k8s.io/v1beta4");
    let _ = writeln!(out, "kind: JoinConfiguration");
    let _ = writeln!(out, "discovery:");
    let _ = writeln!(out, "  bootstrapToken:");
    let _ = writeln!(
        out,
        "    apiServerEndpoint: \"{}:{API_PORT}\"",
        plan.master().name
    );
    let _ = writeln!(out, "    token: \"{}\"", bootstrap_token(plan));
    // The network is private to this cluster and made by us.
    let _ = writeln!(out, "    unsafeSkipCAVerification: true");
    node_registration(&mut out, node, false);
    out
}

/// Run a long kubeadm command, its output shown at `--v 2`.
async fn run_kubeadm<E: Engine>(
    cx: Ctx<'_, E>,
    node: &NodePlan,
    args: &[&str],
) -> std::result::Result<(), EngineError> {
    let mut argv = vec!["kubeadm"];
    argv.extend_from_slice(args);
    let verbose = format!("--v={}", if cx.ui.verbosity() >= 3 { 5 } else { 1 });
    argv.push(&verbose);
    let mut show = |line: &str| cx.ui.detail(format!("[{}] {line}", node.name));
    cx.engine
        .run_with(
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

/// Write the master's configuration and run `kubeadm init`.
pub async fn init<E: Engine>(cx: Ctx<'_, E>) -> Result<()> {
    let master = cx.plan.master();
    let config = init_config(cx.plan, &cx.engine.endpoint().published_address());
    async {
        cx.engine
            .write_file(&master.container, CONFIG_PATH, 0o600, config.as_bytes())
            .await?;
        run_kubeadm(cx, master, &["init", "--config", CONFIG_PATH]).await
    }
    .await
    .map_err(ClusterError::KubeadmInit)
}

/// Write each worker's configuration and run `kubeadm join`, concurrently.
pub async fn join<E: Engine>(cx: Ctx<'_, E>) -> Result<()> {
    try_join_all(cx.plan.workers().map(|node| async move {
        let config = join_config(cx.plan, node);
        async {
            cx.engine
                .write_file(&node.container, CONFIG_PATH, 0o600, config.as_bytes())
                .await?;
            run_kubeadm(cx, node, &["join", "--config", CONFIG_PATH]).await
        }
        .await
        .map_err(|source| ClusterError::KubeadmJoin {
            node: node.name.clone(),
            source,
        })
    }))
    .await?;
    Ok(())
}

/// Adjust what kubeadm deployed where a local cluster wants otherwise:
/// CoreDNS's readiness probe every second instead of 10, so that DNS is back
/// within seconds of a snapshot restore (restarted CoreDNS pods only serve
/// through the Service once a probe has passed); and one CoreDNS replica,
/// not kubeadm's two (minikube runs one too): the second serves a cluster
/// that may lose a node, and costs ~60 MiB of a local cluster's memory.
pub async fn tune_system_pods<E: Engine>(cx: Ctx<'_, E>) -> Result<()> {
    cx.kubectl()
        .run(&[
            "-n",
            "kube-system",
            "patch",
            "deployment",
            "coredns",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/template/spec/containers/0/readinessProbe/periodSeconds","value":1},{"op":"replace","path":"/spec/replicas","value":1}]"#,
        ])
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::tests::plan;

    #[test]
    fn init_config_describes_the_master() {
        let p = plan(&[]);
        let c = init_config(&p, "127.0.0.1");
        assert!(c.contains("advertiseAddress: \"10.192.0.2\""));
        assert!(c.contains("controlPlaneEndpoint: \"kube-master:6443\""));
        assert!(c.contains("kubernetesVersion: v1.37.2"));
        assert!(c.contains("podSubnet: \"10.244.0.0/16\""));
        assert!(c.contains("failCgroupV1: false"));
        assert!(c.contains("imagePullPolicy: Never"));
        assert!(c.contains("  - \"127.0.0.1\""));
        // Workers present: the control-plane taint stays (kubeadm's default).
        assert!(!c.contains("taints"));
        // The controller manager starts without client throttling and both
        // it and the scheduler retry their leases every half second.
        for arg in [
            "kube-api-qps",
            "kube-api-burst",
            "leader-elect-retry-period",
        ] {
            assert!(c.contains(&format!("  - name: {arg}\n")), "{arg}");
        }
        assert!(c.contains(
            "scheduler:\n  extraArgs:\n  - name: leader-elect-retry-period\n    value: \"500ms\"\n"
        ));
        // etcd, a lone member, elects itself within ~0.25 s of starting.
        assert!(c.contains(
            "etcd:\n  local:\n    extraArgs:\n    - name: heartbeat-interval\n      value: \"50\"\n    \
             - name: election-timeout\n      value: \"250\"\n"
        ));
        // The API server collects its heap at half again what is live.
        assert!(c.contains("apiServer:\n"));
        assert!(c.contains("  extraEnvs:\n  - name: GOGC\n    value: \"50\"\n"));
        // Four documents.
        assert_eq!(c.matches("\n---\n").count(), 3);
    }

    #[test]
    fn a_lone_master_or_no_dedicated_drops_the_taint() {
        for env in [
            [("K8S_DIND_NUM_NODES", "0")],
            [("K8S_DIND_NO_DEDICATED", "true")],
        ] {
            let c = init_config(&plan(&env), "127.0.0.1");
            assert!(c.contains("  taints: []"), "{env:?}");
        }
    }

    #[test]
    fn joins_use_the_same_token_and_their_own_address() {
        let p = plan(&[]);
        let token = bootstrap_token(&p);
        assert!(token.len() == 23 && token.as_bytes()[6] == b'.');
        let node = &p.nodes[2];
        let j = join_config(&p, node);
        assert!(j.contains(&format!("token: \"{token}\"")));
        assert!(j.contains("name: kube-node-2"));
        assert!(j.contains("value: \"10.192.0.4\""));
        assert!(init_config(&p, "x").contains(&token));
    }
}
