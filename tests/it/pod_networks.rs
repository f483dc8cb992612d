//! Each pod network on real clusters: what `none` leaves to the user, and
//! flannel and kube-router installed from their own manifests with images
//! built here (kube-router's NetworkPolicy enforcement included).
//! Ignored by default (root, dockerd, minutes); .ci/test runs them.

use crate::common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::cluster::Cluster;
use common::networking::{check_networking, web_pods, workload};
use common::{engine_objects, ensure_busybox_image, text, BUSYBOX};

fn node_sh(c: &Cluster, node: &str, script: &str) -> String {
    let out = Command::new("docker")
        .args(["exec", &format!("{}-{node}", c.name), "sh", "-c", script])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{script} on {node}: {stdout}{stderr}");
    stdout
}

/// flannel with its vxlan backend on 3 nodes: the DaemonSet runs on every
/// node from the images made here, pods on different nodes reach each other
/// through the vxlan device, Services and DNS work, and all of it again
/// after `down` + `up` from the snapshot. Choosing another pod network
/// replaces the snapshot, saying why.
#[test]
#[ignore = "needs root, a Docker engine and several minutes; run by .ci/test"]
fn flannel_networking_and_snapshots() {
    ensure_busybox_image();
    let c = Cluster::new("it-flannel", "10.216.0.0/24");
    up_with(
        &c,
        "flannel",
        ["kube-flannel", "app=flannel"],
        "ghcr.io/flannel-io/flannel:v0.28.10",
    );
    // The other nodes' pod ranges are reached over flannel's vxlan device.
    let master_range = master_pod_range(&c);
    let link = node_sh(&c, "kube-node-1", "ip -d link show flannel.1");
    assert!(link.contains("vxlan id 1"), "{link}");
    let routes = node_sh(&c, "kube-node-1", "ip route");
    assert!(
        routes
            .lines()
            .any(|l| l.starts_with(&master_range) && l.contains("dev flannel.1")),
        "no route to {master_range} over flannel.1: {routes}"
    );

    c.run(&["load", BUSYBOX]);
    c.apply(&workload());
    check_networking(&c);

    c.run(&["down"]);
    let (_, stderr) = c.run(&["up", "--cni-plugin", "flannel"]);
    assert!(stderr.contains("Restoring cluster"), "{stderr}");
    assert!(c.nodes_ready().iter().all(|n| n.1));
    check_networking(&c);

    c.run(&["down"]);
    let (_, stderr) = c.run(&["up"]);
    assert!(
        stderr.contains("made for other settings (cniPlugin flannel → bridge)"),
        "{stderr}"
    );
    assert!(c.nodes_ready().iter().all(|n| n.1));
    c.run(&["clean"]);
    assert_eq!(engine_objects(&c.name), Vec::<String>::new());
}

/// `up` of 3 nodes with `plugin`: all nodes Ready, and its DaemonSet (in
/// namespace and with selector `pods`) runs one pod per node, all of `image`.
fn up_with(c: &Cluster, plugin: &str, pods: [&str; 2], image: &str) {
    let (_, stderr) = c.run(&["up", "--cni-plugin", plugin]);
    let step = format!("Installing the pod network ({plugin})");
    assert!(stderr.contains(&step), "{stderr}");
    assert!(c.nodes_ready().iter().all(|n| n.1), "{:?}", c.nodes_ready());
    let [namespace, selector] = pods;
    let pods = c.kubectl(&[
        "-n",
        namespace,
        "get",
        "pods",
        "-l",
        selector,
        "-o",
        r#"jsonpath={range .items[*]}{.spec.nodeName} {.status.phase} {.spec.containers[0].image}{"\n"}{end}"#,
    ]);
    assert_eq!(pods.lines().count(), 3, "{pods}");
    let want = format!(" Running {image}");
    assert!(pods.lines().all(|l| l.ends_with(&want)), "{pods}");
}

fn master_pod_range(c: &Cluster) -> String {
    c.kubectl(&[
        "get",
        "node",
        "kube-master",
        "-o",
        "jsonpath={.spec.podCIDR}",
    ])
}

/// Whether `url` answers from `pod` within 3 seconds.
fn reaches(c: &Cluster, pod: &str, url: &str) -> bool {
    // The test image links no `timeout` applet; busybox itself has it.
    let wget = ["busybox", "timeout", "3", "wget", "-q", "-O-", url];
    c.kubectl_output(&[&["exec", pod, "--"][..], &wget[..]].concat())
        .status
        .success()
}

/// Wait until `reaches` gives `want` (policies take a moment to be
/// written), then check that it stays so.
fn settles(c: &Cluster, pod: &str, url: &str, want: bool) {
    let start = Instant::now();
    while reaches(c, pod, url) != want {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{pod} → {url}: never {}",
            if want { "reached" } else { "blocked" }
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    for _ in 0..3 {
        assert_eq!(reaches(c, pod, url), want, "{pod} → {url} changed back");
    }
}

/// kube-router on 3 nodes: routes to the other nodes' pod ranges via their
/// addresses (no tunnel), pods, Services and DNS, then NetworkPolicy: a
/// default-deny policy blocks traffic that was allowed, an allow rule lets
/// exactly the labelled pod through, and removing the policies restores it.
/// Again after `down` + `up` from the snapshot.
#[test]
#[ignore = "needs root, a Docker engine and several minutes; run by .ci/test"]
fn kube_router_networking_policies_and_snapshots() {
    ensure_busybox_image();
    let c = Cluster::new("it-kuberouter", "10.217.0.0/24");
    up_with(
        &c,
        "kube-router",
        ["kube-system", "k8s-app=kube-router"],
        "docker.io/cloudnativelabs/kube-router:v2.1.0",
    );
    let master_range = master_pod_range(&c);
    let routes = node_sh(&c, "kube-node-1", "ip route");
    assert!(
        routes
            .lines()
            .any(|l| l.starts_with(&format!("{master_range} via 10.217.0.2 dev eth0"))),
        "no direct route to {master_range} via the master: {routes}"
    );

    c.run(&["load", BUSYBOX]);
    c.apply(&workload());
    check_networking(&c);

    // A second client, never allowed; a web pod on another node than the client.
    c.apply(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: intruder}}\nspec:\n  containers:\n  - {{name: c, image: \"{BUSYBOX}\", imagePullPolicy: Never, command: [sleep, \"100000\"]}}\n"
    ));
    c.kubectl(&[
        "wait",
        "--for=condition=Ready",
        "pod/intruder",
        "--timeout=120s",
    ]);
    let client_node = c.kubectl(&["get", "pod", "client", "-o", "jsonpath={.spec.nodeName}"]);
    let (_, ip, _) = web_pods(&c)
        .into_iter()
        .find(|p| p.2 != client_node)
        .expect("a web pod on another node");
    let url = format!("http://{ip}:8080/");
    settles(&c, "client", &url, true);
    settles(&c, "intruder", &url, true);

    c.apply(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web-deny}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Ingress]\n",
    );
    settles(&c, "client", &url, false);
    settles(&c, "intruder", &url, false);

    c.apply(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web-allow}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Ingress]\n  ingress:\n  - from: [{podSelector: {matchLabels: {role: allowed}}}]\n    ports: [{port: 8080, protocol: TCP}]\n",
    );
    c.kubectl(&["label", "pod", "client", "role=allowed"]);
    settles(&c, "client", &url, true);
    settles(&c, "intruder", &url, false);

    c.kubectl(&["delete", "networkpolicy", "web-deny", "web-allow"]);
    settles(&c, "intruder", &url, true);

    c.run(&["down"]);
    let (_, stderr) = c.run(&["up", "--cni-plugin", "kube-router"]);
    assert!(stderr.contains("Restoring cluster"), "{stderr}");
    assert!(c.nodes_ready().iter().all(|n| n.1));
    check_networking(&c);
    c.run(&["clean"]);
    assert_eq!(engine_objects(&c.name), Vec::<String>::new());
}

/// `cniPlugin: none`: `up` returns with the nodes registered but NotReady,
/// and a CNI configuration written by hand into each node (what a plugin
/// developer does) makes them Ready and lets CoreDNS start.
#[test]
#[ignore = "needs root, a Docker engine and several minutes; run by .ci/test"]
fn without_a_pod_network_nodes_wait_for_one_installed_by_hand() {
    let c = Cluster::new("it-nonet", "10.214.0.0/24");
    let (_, stderr) = c.run(&["up", "--num-nodes", "1", "--cni-plugin", "none"]);
    assert!(stderr.contains("the nodes stay NotReady"), "{stderr}");
    assert!(!stderr.contains("Installing the pod network"), "{stderr}");
    let nodes = c.nodes_ready();
    assert_eq!(
        nodes,
        vec![("kube-master".into(), false), ("kube-node-1".into(), false)]
    );
    assert!(c
        .kubectl(&[
            "get",
            "node",
            "kube-master",
            "-o",
            "jsonpath={.status.conditions}"
        ])
        .contains("NetworkPluginNotReady"));
    for (node, _) in &nodes {
        let cidr = c.kubectl(&["get", "node", node, "-o", "jsonpath={.spec.podCIDR}"]);
        let conf = format!(
            r#"{{"cniVersion":"1.0.0","name":"by-hand","plugins":[{{"type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":true,"ipam":{{"type":"host-local","ranges":[[{{"subnet":"{cidr}"}}]],"routes":[{{"dst":"0.0.0.0/0"}}]}}}},{{"type":"portmap","capabilities":{{"portMappings":true}}}}]}}"#
        );
        let container = format!("{}-{node}", c.name);
        let out = Command::new("docker")
            .args(["exec", &container, "sh", "-c"])
            .arg(format!(
                "cat > /etc/cni/net.d/10-by-hand.conflist <<'EOF'\n{conf}\nEOF"
            ))
            .output()
            .unwrap();
        assert!(out.status.success(), "{:?}", text(&out));
    }
    c.kubectl(&[
        "wait",
        "--for=condition=Ready",
        "node",
        "--all",
        "--timeout=120s",
    ]);
    c.kubectl(&[
        "-n",
        "kube-system",
        "rollout",
        "status",
        "deployment/coredns",
        "--timeout=180s",
    ]);
    // The snapshot was taken before the configuration was written: the
    // restored nodes are back without a network, and `up` does not wait for one.
    c.run(&["down"]);
    let (_, stderr) = c.run(&["up", "--num-nodes", "1", "--cni-plugin", "none"]);
    assert!(stderr.contains("Restoring cluster"), "{stderr}");
    assert!(stderr.contains("no pod network"), "{stderr}");
    assert_eq!(c.nodes_ready().len(), 2);
    c.run(&["clean"]);
    assert_eq!(engine_objects(&c.name), Vec::<String>::new());
}
