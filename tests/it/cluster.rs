//! Real clusters on the real Docker engine: kubeadm, Kubernetes, CNI, DNS,
//! snapshots. Ignored by default (they need root, dockerd and minutes); the
//! project's test command (.ci/test) runs them with `--include-ignored`.
//!
//! Kubernetes and the etcd, CoreDNS and pause images are built locally from
//! Go modules (no download site or registry is needed), sharing the tool's
//! usual build cache so that only the first run is slow. Test workloads use a
//! busybox image made from Debian's busybox-static and loaded with
//! `local-cluster load`.

use crate::common;

use std::process::Command;

use common::cluster::Cluster;
use common::networking::{check_networking, web_pods, workload};
use common::{engine_objects, ensure_busybox_image, text, BUSYBOX};

fn container_ids(cluster: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--no-trunc",
            "--filter",
            &format!("label=io.kubeadm-local-cluster.cluster={cluster}"),
        ])
        .output()
        .unwrap();
    let mut ids: Vec<String> = text(&out).0.lines().map(str::to_string).collect();
    ids.sort();
    ids
}

/// Each kubelet manages only its own node's cgroup, in every hierarchy:
/// none is mounted in the node at its true root (the only cgroup with a
/// `release_agent`), which every node on this kernel would share. (On this
/// machine's cgroup v1, the engine gives containers no cgroup in the
/// hierarchies the host does not mount: hugetlb, net_cls and perf_event.)
fn assert_kubepods_confined(container: &str) {
    common::assert_kubepods_confined(container, &docker_inspect(container, "{{.Id}}"));
    let shared = common::docker(&[
        "exec",
        container,
        "sh",
        "-c",
        r#"for d in /sys/fs/cgroup/*/; do [ ! -e "$d/release_agent" ] || echo "$d"; done"#,
    ]);
    assert!(
        shared.trim().is_empty(),
        "{container} has these cgroup hierarchies at their root, shared with every node: {shared}"
    );
}

fn docker_inspect(container: &str, format: &str) -> String {
    let out = Command::new("docker")
        .args(["inspect", "-f", format, container])
        .output()
        .unwrap();
    text(&out).0.trim().to_string()
}

/// The boot-time translation of the API server's Service address is in
/// the node (restored with it), behind kube-proxy's chain in both nat
/// chains it uses: once kube-proxy runs, its rules decide.
fn api_service_rule_yields_to_kube_proxy(container: &str) {
    for chain in ["PREROUTING", "OUTPUT"] {
        let out = Command::new("docker")
            .args(["exec", container, "iptables", "-t", "nat", "-S", chain])
            .output()
            .unwrap();
        let rules = String::from_utf8_lossy(&out.stdout);
        let at = |what: &str| rules.lines().position(|l| l.contains(what));
        let (Some(kube_proxy), Some(ours)) =
            (at("-j KUBE-SERVICES"), at("local-cluster-api-service"))
        else {
            panic!("{container} {chain}: {rules}");
        };
        assert!(kube_proxy < ours, "{container} {chain}: {rules}");
    }
}

#[test]
#[ignore = "needs root, a Docker engine and several minutes; run by .ci/test"]
fn three_nodes_networking_and_snapshots() {
    ensure_busybox_image();
    let c = Cluster::new("it-three", "10.210.0.0/24");

    // Cold: 1 master + the default 2 workers.
    let (stdout, _) = c.run(&["up"]);
    assert!(stdout.contains(&format!(
        "export KUBECONFIG={}",
        c.home().join("admin.conf").display()
    )));
    assert!(stdout.contains(&format!(
        "alias kubectl={}",
        c.home().join("kubectl").display()
    )));
    // Its user and context are named after the cluster, so that several
    // clusters' kubeconfigs can be used together.
    let conf = std::fs::read_to_string(c.home().join("admin.conf")).unwrap();
    let own = "kubeadm-local-cluster-it-three";
    for line in ["current-context: ", "  name: ", "    user: ", "- name: "] {
        assert!(conf.contains(&format!("\n{line}{own}\n")), "{line}: {conf}");
    }
    assert!(!conf.contains("kubernetes-admin"), "{conf}");
    assert_eq!(c.status().1, 0);
    let mode = std::fs::metadata(c.home().join("admin.conf")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );
    let mode = std::fs::metadata(c.home()).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o700
    );
    // A local engine: the API server on loopback only, workers publish nothing.
    assert_eq!(
        common::published_ports(&format!("{}-kube-master", c.name)),
        vec![("6443/tcp".to_string(), "127.0.0.1".to_string())]
    );
    for worker in ["kube-node-1", "kube-node-2"] {
        assert_eq!(
            common::published_ports(&format!("{}-{worker}", c.name)),
            vec![]
        );
    }
    assert!(c
        .kubectl(&["version", "--client", "-o", "json"])
        .contains("v1.37.2"));
    let nodes = c.nodes_ready();
    assert_eq!(
        nodes,
        vec![
            ("kube-master".into(), true),
            ("kube-node-1".into(), true),
            ("kube-node-2".into(), true)
        ]
    );

    for node in ["kube-master", "kube-node-1", "kube-node-2"] {
        assert_kubepods_confined(&format!("{}-{node}", c.name));
    }

    c.run(&["load", BUSYBOX]);
    c.apply(&workload());
    check_networking(&c);
    let spread: std::collections::BTreeSet<String> =
        web_pods(&c).into_iter().map(|p| p.2).collect();
    assert_eq!(
        spread.len(),
        2,
        "3 replicas should spread over both workers: {spread:?}"
    );
    bytes_survive_the_engine(&format!("{}-kube-node-1", c.name));
    logs_are_complete_archives(&c);

    // `up` on a running cluster changes nothing.
    let before = container_ids(&c.name);
    let (_, stderr) = c.run(&["up", "--num-nodes", "3"]);
    assert!(stderr.contains("already running"), "{stderr}");
    assert_eq!(container_ids(&c.name), before);

    // down keeps the snapshot; up restores it, workloads included.
    c.run(&["down"]);
    assert!(container_ids(&c.name).is_empty());
    assert_eq!(c.status().1, 3);
    let kept = engine_objects(&c.name);
    assert!(
        kept.iter().filter(|o| o.starts_with("volume ")).count() == 3,
        "{kept:?}"
    );
    assert!(
        kept.iter().filter(|o| o.starts_with("image ")).count() == 3,
        "{kept:?}"
    );
    let (_, stderr) = c.run(&["up"]);
    assert!(stderr.contains("Restoring cluster"), "{stderr}");
    assert!(c.nodes_ready().iter().all(|n| n.1));
    check_networking(&c);
    for node in ["kube-master", "kube-node-1", "kube-node-2"] {
        api_service_rule_yields_to_kube_proxy(&format!("{}-{node}", c.name));
    }

    // A snapshot for other settings is replaced, saying why.
    c.run(&["down"]);
    let (_, stderr) = c.run(&["up", "--num-nodes", "1"]);
    assert!(
        stderr.contains("made for other settings (numNodes 2 → 1)"),
        "{stderr}"
    );
    assert_eq!(c.nodes_ready().len(), 2);

    // A damaged snapshot (a volume removed by hand) is detected and rebuilt.
    c.run(&["down", "--num-nodes", "1"]);
    let volume = format!("{}-kube-node-1-var", c.name);
    assert!(Command::new("docker")
        .args(["volume", "rm", &volume])
        .status()
        .unwrap()
        .success());
    let (_, stderr) = c.run(&["up", "--num-nodes", "1"]);
    assert!(
        stderr.contains(&format!("damaged (the volume {volume} is missing)")),
        "{stderr}"
    );
    assert!(c.nodes_ready().iter().all(|n| n.1));

    // clean leaves nothing, asked through the Docker API.
    c.run(&["clean"]);
    assert_eq!(engine_objects(&c.name), Vec::<String>::new());
    assert!(!c.home().join("admin.conf").exists());
    // And both are idempotent.
    c.run(&["down"]);
    c.run(&["clean"]);
}

#[test]
#[ignore = "needs root, a Docker engine and several minutes; run by .ci/test"]
fn single_node_cluster_schedules_on_the_master() {
    ensure_busybox_image();
    let c = Cluster::new("it-single", "10.211.0.0/24");
    c.run(&["up", "--num-nodes", "0"]);
    assert_eq!(c.nodes_ready(), vec![("kube-master".into(), true)]);
    let taints = c.kubectl(&[
        "get",
        "node",
        "kube-master",
        "-o",
        "jsonpath={.spec.taints}",
    ]);
    assert!(!taints.contains("control-plane"), "taints: {taints}");
    c.run(&["load", BUSYBOX]);
    c.apply(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: solo}\nspec:\n  containers:\n  - {name: c, image: \"local-test/busybox:1\", imagePullPolicy: Never, command: [sleep, \"1000\"]}\n",
    );
    c.kubectl(&[
        "wait",
        "--for=condition=Ready",
        "pod/solo",
        "--timeout=120s",
    ]);
    assert_eq!(
        c.kubectl(&["get", "pod", "solo", "-o", "jsonpath={.spec.nodeName}"]),
        "kube-master"
    );
    c.run(&["clean"]);
    assert_eq!(engine_objects(&c.name), Vec::<String>::new());
}

/// Every byte value, and multi-byte characters split wherever the engine's
/// stream chunks end, come back unchanged through a file copy and an exec.
fn bytes_survive_the_engine(container: &str) {
    use local_cluster::engine::{Docker, Exec, Files};
    let mut content: Vec<u8> = Vec::new();
    while content.len() < 3 << 20 {
        content.extend(0..=255u8);
        content.extend_from_slice("grüße ✓ 🚀\n".as_bytes());
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let docker = Docker::connect().await.unwrap();
        docker
            .write_file(container, "/var/tmp/bytes.bin", 0o644, &content)
            .await
            .unwrap();
        let out = docker
            .run(container, &["cat", "/var/tmp/bytes.bin"])
            .await
            .unwrap();
        assert!(out.stdout == content, "exec output differs from the file");
        let back = docker
            .read_file(container, "/var/tmp/bytes.bin")
            .await
            .unwrap();
        assert!(back == content, "the file read back differs");
        docker
            .run(container, &["rm", "/var/tmp/bytes.bin"])
            .await
            .unwrap();
    });
}

/// `logs` writes each node's pod logs as a tar that lists cleanly.
fn logs_are_complete_archives(c: &Cluster) {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    c.run(&["logs", "--dir", logs.to_str().unwrap()]);
    for node in ["kube-master", "kube-node-1", "kube-node-2"] {
        let tar = logs.join(format!("{}-{node}", c.name)).join("pods.tar");
        let out = Command::new("tar").arg("-tf").arg(&tar).output().unwrap();
        let (listing, errors) = text(&out);
        assert!(
            out.status.success() && errors.is_empty(),
            "tar -tf {}: {errors}",
            tar.display()
        );
        assert!(listing.contains("pods/"), "{listing}");
        assert!(logs
            .join(format!("{}-{node}", c.name))
            .join("kubelet.log")
            .exists());
    }
}

/// A real failure half-way through `up`: the API server's host port is
/// taken, so the master cannot start after the network and containers exist.
#[test]
#[ignore = "needs root, a Docker engine and several minutes; run by .ci/test"]
fn a_failed_up_names_its_step_and_clean_removes_what_it_left() {
    let c = Cluster::new("it-fail", "10.213.0.0/24");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = c
        .command(&["up", "--num-nodes", "1", "--apiserver-port", &port])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    eprintln!("--- local-cluster up (port {port} taken)\n{stderr}{stdout}");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("✗ Starting 2 node containers"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "host port 127.0.0.1:{port} for the API server is taken"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("`local-cluster clean --cluster-name it-fail` removes what was created"),
        "{stderr}"
    );
    assert!(
        !engine_objects(&c.name).is_empty(),
        "nothing was left to clean"
    );
    drop(taken);
    c.run(&["clean"]);
    assert_eq!(engine_objects(&c.name), Vec::<String>::new());
}

/// What only the engine can tell: a runtime it lacks is refused before
/// anything is made; `down`, `clean` and `status` of a cluster that does not
/// exist succeed and make nothing; `e2e` and `e2e-serial` of it are refused,
/// naming the cluster, before any test binary is fetched.
#[test]
#[ignore = "needs root, a Docker engine and several minutes; run by .ci/test"]
fn the_engine_refuses_unknown_runtimes_and_absent_clusters_need_nothing() {
    let home = tempfile::tempdir().unwrap();
    let out = common::command(home.path())
        .args(["up", "--cluster-name", "clitest-runtime"])
        .env("K8S_DIND_NODE_RUNTIME", "no-such-runtime")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains(
            "node.runtime no-such-runtime (from env K8S_DIND_NODE_RUNTIME) is not a runtime of \
             this Docker engine, which has: "
        ) && stderr.contains("runc"),
        "{stderr}"
    );
    assert!(common::files_under(home.path()).is_empty());
    assert!(engine_objects("clitest-runtime").is_empty());

    for (cmd, code) in [("down", 0), ("clean", 0), ("status", 3)] {
        let out = common::command(home.path())
            .args([cmd, "--cluster-name", "clitest-absent"])
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(code), "{cmd}: {stdout}{stderr}");
    }
    for cmd in ["e2e", "e2e-serial"] {
        let out = common::command(home.path())
            .args([
                cmd,
                "DNS",
                "--cluster-name",
                "clitest-absent",
                "--",
                "--ginkgo.v",
            ])
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{cmd}: {stdout}{stderr}");
        assert!(
            stderr.contains(
                "cluster \"clitest-absent\" is not running; start it with `local-cluster up \
                 --cluster-name clitest-absent`"
            ),
            "{cmd}: {stderr}"
        );
        assert!(!stderr.contains("test binaries"), "{cmd}: {stderr}");
    }
    assert!(common::files_under(home.path()).is_empty());
    assert!(engine_objects("clitest-absent").is_empty());
}
