//! The engines people have (tier "engines"): the same life of a cluster on
//! this machine's Docker (20.10, what its Debian installs) and on the newest
//! Docker Debian offers (.ci/newer-docker), the latter with the classic image
//! store and with the containerd image store that new Docker installs use.
//!
//! Podman (rootful, through its Docker-compatible service) is tried the same
//! way.
//!
//! Each engine is a dockerd of its own in a network namespace, reached over
//! TLS (tests/it/common/remote.rs), or a Podman service in one, reached over
//! TCP (tests/it/common/podman.rs). On each: `up`, `load` of an image taken
//! from a multi-platform index of which only this machine's platform is
//! present (kind #3795: the containerd store saves the whole index), a pod
//! of it, `push` to the cluster's registry and a pod pulling it, `down` and
//! `up` from the snapshot (the image loaded again: the snapshot is of the
//! cluster as `up` made it) with the registry still serving, and `clean` leaving
//! nothing. Need root; ignored by default, run by .ci/test.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::cluster::Cluster;
use common::oci::{absent_platforms, multi_platform_archive, MULTI};
use common::podman::PodmanEngine;
use common::remote::{EngineBuilder, Layout, RemoteEngine};
use common::test_engine::TestEngine;
use common::{docker, ensure_busybox_image, BUSYBOX};

const DOCKER_20: Layout = Layout {
    netns: "lc-test-engines-20",
    host_link: "lcte20-host",
    ns_link: "lcte20-ns",
    host_addr: "198.18.251.21",
    addr: "198.18.251.22",
    dir_prefix: "lc-engines-20-",
    data_root_size: None,
};

const NEWER_CLASSIC: Layout = Layout {
    netns: "lc-test-engines-nc",
    host_link: "lctenc-host",
    ns_link: "lctenc-ns",
    host_addr: "198.18.251.25",
    addr: "198.18.251.26",
    dir_prefix: "lc-engines-nc-",
    data_root_size: None,
};

const NEWER_CONTAINERD: Layout = Layout {
    netns: "lc-test-engines-ns",
    host_link: "lctens-host",
    ns_link: "lctens-ns",
    host_addr: "198.18.251.29",
    addr: "198.18.251.30",
    dir_prefix: "lc-engines-ns-",
    data_root_size: None,
};

const PODMAN: Layout = Layout {
    netns: "lc-test-engines-pm",
    host_link: "lctepm-host",
    ns_link: "lctepm-ns",
    host_addr: "198.18.251.33",
    addr: "198.18.251.34",
    dir_prefix: "lc-engines-pm-",
    data_root_size: None,
};

/// The newest Docker Debian offers, unpacked (fetched once into the CI
/// cache by .ci/newer-docker).
fn newer_docker() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/newer-docker");
    let out = Command::new(&script).output().unwrap();
    assert!(
        out.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let versions = std::fs::read_to_string(dir.join("versions")).unwrap();
    eprintln!("newer Docker: {}", versions.replace('\n', "; "));
    dir
}

/// The life of a cluster on `engine`, as the module's comment says.
fn a_cluster_lives_on(engine: &impl TestEngine, name: &str, subnet: &str) {
    let started = Instant::now();
    eprintln!(
        "engine: {}",
        engine.docker(&[
            "info",
            "--format",
            "{{.ServerVersion}} {{.Driver}} {{json .DriverStatus}}"
        ])
    );
    let mut c = Cluster::with_env(name, subnet, engine.tool_env());
    c.extra.push(("K8S_DIND_NUM_NODES".into(), "1".into()));
    let (_, said) = c.run(&["up"]);
    assert!(said.contains("created"), "{said}");
    let (status, _) = c.run(&["status"]);
    eprintln!("{status}");

    // An image of which only this machine's platform is in the engine.
    let archive = engine.dir().join("multi.tar");
    multi_platform_archive(&archive);
    engine.docker(&["load", "-i", archive.to_str().unwrap()]);
    let store = engine.docker(&["info", "--format", "{{json .DriverStatus}}"]);
    if store.contains("io.containerd.snapshotter.v1") {
        // What made `ctr import --all-platforms` in the nodes fail.
        let saved = engine.dir().join("multi-saved.tar");
        engine.docker(&["save", "-o", saved.to_str().unwrap(), MULTI]);
        let absent = absent_platforms(&saved);
        assert_eq!(
            absent.len(),
            1,
            "platforms absent from the saved index: {absent:?}"
        );
    }
    c.run(&["load", MULTI]);
    assert_eq!(
        c.pod_prints("loaded", MULTI, "Never", "from-load"),
        "from-load"
    );

    // Pushed through the engine to the cluster's registry, pulled by a pod.
    engine.copy_image(BUSYBOX);
    let (stdout, _) = c.run(&["registry"]);
    let registry = stdout.trim().to_string();
    let (stdout, _) = c.run(&["push", BUSYBOX]);
    let pushed = format!("{registry}/{BUSYBOX}");
    assert_eq!(stdout.trim(), pushed);
    assert_eq!(
        c.pod_prints("pulled", &pushed, "Always", "from-registry"),
        "from-registry"
    );

    // From the snapshot (made at `up`, before the load): the image loads
    // into the restored nodes again, the registry still serves.
    c.run(&["down"]);
    let (_, said) = c.run(&["up"]);
    assert!(said.contains("restored"), "{said}");
    c.run(&["load", MULTI]);
    assert_eq!(
        c.pod_prints("loaded2", MULTI, "Never", "again-load"),
        "again-load"
    );
    assert_eq!(
        c.pod_prints("pulled2", &pushed, "Always", "again-registry"),
        "again-registry"
    );

    c.run(&["clean"]);
    let left: Vec<String> = engine
        .objects_but_tool_images()
        .into_iter()
        .filter(|o| !o.contains(MULTI) && !o.contains(BUSYBOX))
        .collect();
    assert!(left.is_empty(), "clean left: {left:?}");
    eprintln!(
        "a cluster's life on this engine: {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

fn start(builder: EngineBuilder) -> RemoteEngine {
    ensure_busybox_image();
    // Made from the busybox image's layer on this machine's engine.
    docker(&["image", "inspect", BUSYBOX]);
    builder.start()
}

#[test]
#[ignore = "starts a dockerd in a network namespace and a cluster; run by .ci/test"]
fn docker_20_10_with_the_classic_image_store() {
    let engine = start(RemoteEngine::build(&DOCKER_20));
    a_cluster_lives_on(&engine, "engines-20", "10.232.0.0/24");
}

#[test]
#[ignore = "starts a dockerd in a network namespace and a cluster; run by .ci/test"]
fn the_newest_docker_with_the_classic_image_store() {
    let bin = newer_docker();
    let engine = start(RemoteEngine::build(&NEWER_CLASSIC).binaries(&bin));
    a_cluster_lives_on(&engine, "engines-nc", "10.232.1.0/24");
}

#[test]
#[ignore = "starts a dockerd in a network namespace and a cluster; run by .ci/test"]
fn the_newest_docker_with_the_containerd_image_store() {
    let bin = newer_docker();
    let engine = start(
        RemoteEngine::build(&NEWER_CONTAINERD)
            .binaries(&bin)
            .containerd_store(),
    );
    let info = engine.docker(&["info", "--format", "{{json .DriverStatus}}"]);
    assert!(
        info.contains("io.containerd.snapshotter.v1"),
        "not the containerd image store: {info}"
    );
    a_cluster_lives_on(&engine, "engines-ns", "10.232.2.0/24");
}

#[test]
#[ignore = "starts a Podman service in a network namespace and a cluster; run by .ci/test"]
fn podman_through_its_docker_compatible_api() {
    ensure_busybox_image();
    let engine = PodmanEngine::start(&PODMAN);
    a_cluster_lives_on(&engine, "engines-podman", "10.232.3.0/24");
}
