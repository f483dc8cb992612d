//! What every pod network must give a cluster: pod-to-pod traffic across
//! nodes, Services by ClusterIP, and DNS, checked from a client pod.

use std::time::Duration;

use super::cluster::Cluster;
use super::text;

/// The shared web workload plus a client pod to reach it from.
pub fn workload() -> String {
    format!(
        "{}---
apiVersion: v1
kind: Pod
metadata: {{name: client}}
spec:
  containers:
  - {{name: client, image: \"local-test/busybox:1\", imagePullPolicy: Never, command: [sleep, \"100000\"]}}
",
        super::web_workload(3)
    )
}

/// The workload's pods: (name, IP, node).
pub fn web_pods(c: &Cluster) -> Vec<(String, String, String)> {
    c.kubectl(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        r#"jsonpath={range .items[*]}{.metadata.name} {.status.podIP} {.spec.nodeName}{"\n"}{end}"#,
    ])
    .lines()
    .map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f[0].to_string(), f[1].to_string(), f[2].to_string())
    })
    .collect()
}

/// Pod-to-pod across nodes, Service by ClusterIP, and DNS, from the client pod.
pub fn check_networking(c: &Cluster) {
    c.kubectl(&[
        "wait",
        "--for=condition=Available",
        "deployment/web",
        "--timeout=120s",
    ]);
    // After a restore the Deployment's status is the snapshot's until the
    // pods are re-created: wait for the pods themselves.
    let pods: [&[&str]; 2] = [&["pod/client"], &["pod", "-l", "app=web"]];
    for which in pods {
        let mut args = vec!["wait", "--for=condition=Ready", "--timeout=120s"];
        args.extend_from_slice(which);
        c.kubectl(&args);
    }
    let client_node = c.kubectl(&["get", "pod", "client", "-o", "jsonpath={.spec.nodeName}"]);
    let pods = web_pods(c);
    let others: Vec<_> = pods.iter().filter(|p| p.2 != client_node).collect();
    assert!(
        !others.is_empty(),
        "no web pod on a node other than {client_node}: {pods:?}"
    );
    for (name, ip, node) in &pods {
        // Each pod answers with its own name, from any node.
        let got = c.exec_until(
            "client",
            &["wget", "-O-", &format!("http://{ip}:8080/")],
            name,
            Duration::from_secs(30),
        );
        eprintln!(
            "client on {client_node} reached {name} on {node} at {ip}: {}",
            got.lines().next().unwrap_or("")
        );
    }
    let cluster_ip = c.kubectl(&["get", "service", "web", "-o", "jsonpath={.spec.clusterIP}"]);
    let got = c.exec_until(
        "client",
        &["wget", "-O-", &format!("http://{cluster_ip}/")],
        "web-",
        Duration::from_secs(30),
    );
    assert!(
        pods.iter().any(|p| got.contains(&p.0)),
        "Service answered {got}"
    );
    // DNS: the API's Service and ours, by full name and by short name.
    c.exec_until(
        "client",
        &["nslookup", "kubernetes.default.svc.cluster.local"],
        "10.96.0.1",
        Duration::from_secs(30),
    );
    c.exec_until(
        "client",
        &["nslookup", "web.default.svc.cluster.local"],
        &cluster_ip,
        Duration::from_secs(30),
    );
    c.exec_until(
        "client",
        &["wget", "-O-", "http://web/"],
        "web-",
        Duration::from_secs(30),
    );
    // `ping` resolves through the search path; the Service IP itself does not answer pings.
    let args = [
        "exec",
        "client",
        "--",
        "ping",
        "-c",
        "1",
        "-W",
        "1",
        "kubernetes.default",
    ];
    let (stdout, stderr) = text(&c.kubectl_output(&args));
    assert!(
        format!("{stdout}{stderr}").contains("(10.96.0.1)"),
        "kubernetes.default did not resolve: {stdout}{stderr}"
    );
}
