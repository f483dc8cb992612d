//! What needs an engine of its own (tier "engine"): restarts of the engine,
//! between `down` and `up` and under a running cluster, and privileged
//! nodes through an OCI runtime registered on the engine's command line.
//!
//! Each test starts a private dockerd in a network namespace of its own
//! (tests/it/common/remote.rs), reached over TLS across a veth pair; the tool
//! sends it the node image by itself. This machine's dockerd is never
//! restarted and its configuration never touched: each test checks that at
//! its end. Need root; ignored by default, run by .ci/test.

use crate::common;

use std::time::Instant;

use common::cluster::{wait_stayer_running, Cluster, STAYER};
use common::networking::{check_networking, workload};
use common::remote::{Layout, RemoteEngine};
use common::test_engine::TestEngine;
use common::{assert_kubepods_confined, docker, ensure_busybox_image, BUSYBOX};

/// The engine of the restart between `down` and `up`.
const BETWEEN: Layout = Layout {
    netns: "lc-test-engine-down",
    host_link: "lcted-host",
    ns_link: "lcted-ns",
    host_addr: "198.18.251.9",
    addr: "198.18.251.10",
    dir_prefix: "lc-engine-down-",
    data_root_size: None,
};

/// The engine restarted under a running cluster.
const UNDER: Layout = Layout {
    netns: "lc-test-engine-run",
    host_link: "lcter-host",
    ns_link: "lcter-ns",
    host_addr: "198.18.251.13",
    addr: "198.18.251.14",
    dir_prefix: "lc-engine-run-",
    data_root_size: None,
};

/// The engine of the privileged nodes, with the runc shim registered.
const PRIVILEGED: Layout = Layout {
    netns: "lc-test-engine-priv",
    host_link: "lctep-host",
    ns_link: "lctep-ns",
    host_addr: "198.18.251.17",
    addr: "198.18.251.18",
    dir_prefix: "lc-engine-priv-",
    data_root_size: None,
};

/// This machine's own engine as a test must leave it: the same dockerd
/// process (pid and start time) and the same /etc/docker/daemon.json.
#[derive(Debug, PartialEq)]
struct HostEngine {
    dockerd: Option<(String, String)>,
    daemon_json: Option<Vec<u8>>,
}

impl HostEngine {
    fn now() -> HostEngine {
        let dockerd = std::fs::read_to_string("/var/run/docker.pid")
            .ok()
            .map(|pid| pid.trim().to_string())
            .map(|pid| {
                // Field 22 of /proc/<pid>/stat: the start time, in ticks
                // since boot (after the command name, which may hold spaces).
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                let after = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
                let started = after.split(' ').nth(19).unwrap_or("gone").to_string();
                (pid, started)
            });
        HostEngine {
            dockerd,
            daemon_json: std::fs::read("/etc/docker/daemon.json").ok(),
        }
    }
}

/// A cluster on `engine`, over TLS.
fn cluster_on(engine: &RemoteEngine, name: &str, subnet: &str) -> Cluster {
    Cluster::with_env(name, subnet, engine.tls_env())
}

/// `clean` leaves nothing on the engine but the tool's images (the node
/// image and the bare one its privileged probe runs), which only
/// `clean --all` removes.
fn clean_leaves_nothing(c: &Cluster, engine: &RemoteEngine) {
    c.run(&["clean"]);
    let left = engine.objects_but_tool_images();
    assert!(left.is_empty(), "clean left: {left:?}");
}

fn elapsed(start: Instant) -> String {
    format!("{:.1}s", start.elapsed().as_secs_f64())
}

#[test]
#[ignore = "starts a dockerd in a network namespace and a cluster; run by .ci/test"]
fn an_engine_restart_between_down_and_up() {
    let host = HostEngine::now();
    ensure_busybox_image();
    let mut engine = RemoteEngine::start_with(&BETWEEN);
    let c = cluster_on(&engine, "it-engine-down", "10.237.0.0/24");

    let (_, said) = c.run(&["up"]);
    assert!(said.contains("created"), "{said}");
    c.run(&["load", BUSYBOX]);
    c.apply(&workload());
    check_networking(&c);
    c.run(&["down"]);

    // The engine restarts with the snapshot (volumes and images) only.
    let sorted = |mut objects: Vec<String>| {
        objects.sort();
        objects
    };
    let kept = sorted(engine.objects());
    assert!(
        !kept.iter().any(|o| o.starts_with("container ")),
        "{kept:?}"
    );
    let pid = engine.pid();
    let start = Instant::now();
    engine.restart();
    eprintln!("engine restart: {}", elapsed(start));
    assert_ne!(engine.pid(), pid, "dockerd was not restarted");
    assert_eq!(
        sorted(engine.objects()),
        kept,
        "the restart changed the engine"
    );

    let (_, said) = c.run(&["up"]);
    assert!(said.contains("Restoring cluster"), "{said}");
    assert!(c.nodes_ready().iter().all(|n| n.1));
    check_networking(&c);

    clean_leaves_nothing(&c, &engine);
    drop(c);
    drop(engine);
    assert_eq!(HostEngine::now(), host, "this machine's engine changed");
}

#[test]
#[ignore = "starts a dockerd in a network namespace and a cluster; run by .ci/test"]
fn an_engine_restart_under_a_running_cluster() {
    let host = HostEngine::now();
    ensure_busybox_image();
    let mut engine = RemoteEngine::start_with(&UNDER);
    let mut c = cluster_on(&engine, "it-engine-run", "10.238.0.0/24");
    c.extra
        .push(("K8S_DIND_NUM_NODES".to_string(), "1".to_string()));
    let (_, said) = c.run(&["up"]);
    assert!(said.contains("created"), "{said}");
    c.run(&["load", BUSYBOX]);
    c.apply(&STAYER.replace("IMAGE", BUSYBOX));
    let before = wait_stayer_running(&c);

    // dockerd restarted under the running cluster: every node stopped.
    let pid = engine.pid();
    let start = Instant::now();
    engine.restart();
    eprintln!("engine restart: {}", elapsed(start));
    assert_ne!(engine.pid(), pid, "dockerd was not restarted");
    let (shown, code) = c.status();
    assert_eq!(code, 4, "{shown}");
    assert!(
        shown.starts_with("cluster it-engine-run: not finished"),
        "{shown}"
    );
    let (_, said) = c.run(&["up"]);
    assert!(said.contains("restored"), "{said}");
    // The pod is still the same object (etcd is on the master's volume).
    let after = wait_stayer_running(&c);
    assert_eq!(
        after.split(' ').next(),
        before.split(' ').next(),
        "same pod"
    );
    assert!(c.nodes_ready().iter().all(|(_, ready)| *ready));

    clean_leaves_nothing(&c, &engine);
    drop(c);
    drop(engine);
    assert_eq!(HostEngine::now(), host, "this machine's engine changed");
}

const SHIM_NAME: &str = "runc-no-sys-resource";

/// Makes `--privileged` usable where the host cannot grant CAP_SYS_RESOURCE
/// (VMs like Firecracker): removes that one capability from the bundle
/// (create) or the process (exec), then runs runc.
const SHIM: &str = r#"#!/bin/sh
# Test shim of kubeadm-local-cluster: drop CAP_SYS_RESOURCE, which this host
# cannot grant, from the container's bundle (create) or process (exec), then
# hand over to runc.
strip() {
  [ -f "$1" ] && sed -i -e 's/"CAP_SYS_RESOURCE",//g' -e 's/,"CAP_SYS_RESOURCE"//g' -e 's/\["CAP_SYS_RESOURCE"\]/[]/g' "$1"
}
prev=""
for a in "$@"; do
  case "$prev" in
    --bundle|-b) strip "$a/config.json" ;;
    --process|-p) strip "$a" ;;
  esac
  case "$a" in
    --bundle=*) strip "${a#--bundle=}/config.json" ;;
    --process=*) strip "${a#--process=}" ;;
  esac
  prev=$a
done
exec runc "$@"
"#;

/// Whether a privileged container starts on `engine` (with `runtime`, or
/// the engine's default one).
fn privileged_starts(engine: &RemoteEngine, runtime: Option<&str>) -> bool {
    let mut args = vec!["run", "--rm", "--privileged"];
    if let Some(runtime) = runtime {
        args.extend(["--runtime", runtime]);
    }
    args.extend(["--entrypoint", "sh", BUSYBOX, "-c", "true"]);
    engine.docker_ok(&args)
}

#[test]
#[ignore = "starts a dockerd in a network namespace and a cluster; run by .ci/test"]
fn privileged_nodes_where_the_engine_allows_them() {
    let host = HostEngine::now();
    ensure_busybox_image();
    let engine = RemoteEngine::build(&PRIVILEGED)
        .runtime(SHIM_NAME, SHIM)
        .start();
    // The shim is that engine's alone.
    assert!(
        engine.runtimes().iter().any(|r| r == SHIM_NAME),
        "{:?}",
        engine.runtimes()
    );
    let host_runtimes = docker(&["info", "--format", "{{json .Runtimes}}"]);
    assert!(!host_runtimes.contains(SHIM_NAME), "{host_runtimes}");

    // Use the shim only where privileged containers do not just work.
    engine.copy_image(BUSYBOX);
    let runtime = if privileged_starts(&engine, None) {
        None
    } else {
        assert!(
            privileged_starts(&engine, Some(SHIM_NAME)),
            "privileged containers fail even with {SHIM_NAME}"
        );
        Some(SHIM_NAME)
    };
    engine.docker(&["rmi", BUSYBOX]);
    eprintln!("privileged nodes through runtime {runtime:?}");

    let mut c = cluster_on(&engine, "it-priv", "10.212.0.0/24");
    if let Some(runtime) = runtime {
        c.extra
            .push(("K8S_DIND_NODE_RUNTIME".into(), runtime.into()));
    }
    // One worker, and pods on the master too (noDedicated), so that traffic crosses nodes.
    let (_, stderr) = c.run(&["up", "--num-nodes", "1", "--no-dedicated", "--v", "2"]);
    assert!(
        stderr.contains("nodes run as privileged containers"),
        "{stderr}"
    );
    let inspect = |container: &str, format: &str| {
        engine
            .docker(&["inspect", "-f", format, container])
            .trim()
            .to_string()
    };
    let master = format!("{}-kube-master", c.name);
    assert_eq!(inspect(&master, "{{.HostConfig.Privileged}}"), "true");
    assert_eq!(
        inspect(&master, "{{.HostConfig.Runtime}}"),
        runtime.unwrap_or("runc")
    );
    assert!(c.nodes_ready().iter().all(|n| n.1));
    for node in [master, format!("{}-kube-node-1", c.name)] {
        assert_kubepods_confined(&node, &inspect(&node, "{{.Id}}"));
    }
    c.run(&["load", BUSYBOX]);
    c.apply(&workload());
    check_networking(&c);

    clean_leaves_nothing(&c, &engine);
    drop(c);
    drop(engine);
    assert_eq!(HostEngine::now(), host, "this machine's engine changed");
}
