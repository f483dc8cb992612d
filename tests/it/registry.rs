//! A cluster's local registry on the real Docker engine: images pushed from
//! the engine and from a `docker save` archive are pulled by pods (with
//! `imagePullPolicy: Always`) as `localhost:<port>/...` and, through the
//! mirror, under their registry.k8s.io names; both still work after
//! `down` + `up` (a snapshot restore); `clean` removes the registry.
//!
//! Ignored by default (root, dockerd and minutes); `.ci/test` runs it. No
//! registry outside the machine is involved: the test image is made with
//! `docker import` from the host's busybox-static.

use crate::common;

use std::process::Command;

use common::cluster::Cluster;
use common::{docker, engine_objects, ensure_busybox_image, BUSYBOX};

const NAME: &str = "it-registry";
const SUBNET: &str = "10.231.0.0/24";
/// Not the default 5001, so a user's registry on this machine is not in the way.
const PORT: &str = "5031";
/// A name registry.k8s.io does not serve: only the mirror can.
const MIRRORED: &str = "registry.k8s.io/e2e-test-images/local-cluster-mirror-test:1";

fn registry_objects() -> (String, String) {
    let label = format!("label=io.kubeadm-local-cluster.registry={NAME}");
    (
        docker(&[
            "ps",
            "-a",
            "--filter",
            &label,
            "--format",
            "{{.Names}} {{.State}}",
        ]),
        docker(&["volume", "ls", "--filter", &label, "--format", "{{.Name}}"]),
    )
}

#[test]
#[ignore = "needs root, a Docker engine and minutes; run by .ci/test"]
fn pods_pull_pushed_images_from_the_local_registry_and_its_mirror() {
    ensure_busybox_image();
    let mut c = Cluster::new(NAME, SUBNET);
    c.extra = vec![
        ("K8S_DIND_NUM_NODES".into(), "1".into()),
        ("K8S_DIND_REGISTRY_PORT".into(), PORT.into()),
    ];
    c.run(&["up"]);

    let (stdout, _) = c.run(&["registry", "--mirror", "registry.k8s.io"]);
    assert_eq!(stdout.trim(), format!("localhost:{PORT}"));
    // It takes pushes from anyone who reaches it: loopback only.
    let (containers, _) = registry_objects();
    let registry = containers.split_whitespace().next().unwrap();
    assert_eq!(
        common::published_ports(registry),
        vec![("5000/tcp".to_string(), "127.0.0.1".to_string())]
    );
    let hosting = c.kubectl(&[
        "-n",
        "kube-public",
        "get",
        "configmap",
        "local-registry-hosting",
        "-o",
        "jsonpath={.data.localRegistryHosting\\.v1}",
    ]);
    assert!(
        hosting.contains(&format!("host: \"localhost:{PORT}\"")),
        "{hosting}"
    );

    // From the engine, under the same name.
    let (stdout, _) = c.run(&["push", BUSYBOX]);
    let local = format!("localhost:{PORT}/{BUSYBOX}");
    assert_eq!(stdout.trim(), local);
    // From an archive (the e2e runner's path), under its registry.k8s.io name.
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("mirrored.tar");
    docker(&["tag", BUSYBOX, MIRRORED]);
    docker(&["save", "-o", archive.to_str().unwrap(), MIRRORED]);
    docker(&["rmi", MIRRORED]);
    let (stdout, _) = c.run(&["push", "--archive", archive.to_str().unwrap(), MIRRORED]);
    assert_eq!(
        stdout.trim(),
        format!("localhost:{PORT}/e2e-test-images/local-cluster-mirror-test:1")
    );
    // The names the push made in the engine are gone again.
    assert!(!Command::new("docker")
        .args(["image", "inspect", MIRRORED])
        .output()
        .unwrap()
        .status
        .success());

    assert_eq!(
        c.pod_prints("local", &local, "Always", "from-local"),
        "from-local"
    );
    assert_eq!(
        c.pod_prints("mirror", MIRRORED, "Always", "from-mirror")
            .trim(),
        "from-mirror"
    );
    let (status, _) = c.run(&["status"]);
    assert!(
        status.contains(&format!("registry: localhost:{PORT} (running")),
        "{status}"
    );

    // `down` keeps the registry; restored nodes are configured for it.
    c.run(&["down"]);
    assert_eq!(registry_objects().0.trim(), "it-registry-registry running");
    let (_, stderr) = c.run(&["up"]);
    assert!(stderr.contains("restored"), "{stderr}");
    assert_eq!(
        c.pod_prints("local2", &local, "Always", "again-local")
            .trim(),
        "again-local"
    );
    assert_eq!(
        c.pod_prints("mirror2", MIRRORED, "Always", "again-mirror")
            .trim(),
        "again-mirror"
    );

    c.run(&["clean"]);
    assert_eq!(registry_objects(), (String::new(), String::new()));
    assert_eq!(engine_objects(NAME), Vec::<String>::new());
}
