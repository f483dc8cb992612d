//! The master node: killed, then its kubelet stopped.

use super::*;

/// The master killed, then its kubelet stopped: `status` says so, `up`
/// brings it back (a new container from the snapshot's image on the
/// master's own /var volume, so etcd keeps what was written before the
/// kill), and a pod on the worker runs on untouched.
#[test]
#[ignore = "needs root, a Docker engine and several minutes; run by .ci/test"]
fn killed_master_and_its_stopped_kubelet() {
    const NAME: &str = "it-relm";
    const MASTER: &str = "it-relm-kube-master";
    const WORKER: &str = "it-relm-kube-node-1";
    ensure_busybox_image();
    let c = cluster(NAME, "10.233.0.0/24");
    let (_, said) = c.run(&["up"]);
    assert!(said.contains("created"), "{said}");
    c.run(&["load", BUSYBOX]);
    c.apply(
        &STAYER
            .replace("IMAGE", BUSYBOX)
            .replace("nodeName: kube-master", "nodeName: kube-node-1"),
    );
    let before = wait_stayer_running(&c);
    let worker_id = container_id(WORKER);
    let config_map =
        |name: &str| c.kubectl(&["get", "configmap", name, "-o", "jsonpath={.data.written}"]);

    // Written just before the kill: etcd has it on the master's volume.
    c.kubectl(&[
        "create",
        "configmap",
        "before-kill",
        "--from-literal=written=yes",
    ]);
    let master_id = container_id(MASTER);
    docker(&["kill", MASTER]);
    let shown = status(&c);
    assert!(
        shown.contains(
            "cluster it-relm: broken nodes; `local-cluster up --cluster-name it-relm` repairs them"
        ) && shown.contains("  kube-master: stopped ("),
        "{shown}"
    );
    let (_, said) = c.run(&["up"]);
    assert!(said.contains("repaired"), "{said}");
    assert_ne!(container_id(MASTER), master_id, "a new master container");
    assert_eq!(container_id(WORKER), worker_id, "the worker was kept");
    assert_eq!(config_map("before-kill"), "yes");
    assert_eq!(stayer(&c), before, "the pod on the worker kept running");
    assert!(c.nodes_ready().iter().all(|(_, ready)| *ready));
    assert!(status(&c).starts_with("cluster it-relm: running\n"));

    // The master's kubelet stopped: started again, the container kept.
    c.kubectl(&[
        "create",
        "configmap",
        "before-stop",
        "--from-literal=written=yes",
    ]);
    let master_id = container_id(MASTER);
    docker(&["exec", MASTER, "systemctl", "stop", "kubelet"]);
    let shown = status(&c);
    assert!(
        shown.contains("  kube-master: running; not active: kubelet inactive"),
        "{shown}"
    );
    let (_, said) = c.run(&["up"]);
    assert!(
        said.contains("Starting containerd and kubelet again on kube-master"),
        "{said}"
    );
    assert_eq!(container_id(MASTER), master_id, "the master was kept");
    assert_eq!(config_map("before-kill"), "yes");
    assert_eq!(config_map("before-stop"), "yes");
    assert_eq!(stayer(&c), before, "the pod on the worker kept running");

    c.run(&["clean"]);
    assert_eq!(engine_objects(NAME), Vec::<String>::new());
}
