//! Resource faults: a disk too small for a node image build (refused before
//! it starts), a disk that fills up during one (the tool's cache on a small
//! tmpfs) or during a snapshot (a test engine whose data root is a small
//! tmpfs). The command must fail saying what ran out
//! and where, and leave nothing a later run would take as complete.
//!
//! Need root (mounts; the second test a network namespace and a second
//! dockerd, tests/it/common/remote.rs); ignored by default, run by .ci/test.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use common::cluster::Cluster;
use common::remote::{Layout, RemoteEngine};
use common::test_engine::TestEngine;
use common::{docker, files_under};

/// A tmpfs of `size` on a new directory; unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn new(size: &str) -> SmallDisk {
        let dir = tempfile::Builder::new()
            .prefix("lc-nospace-")
            .tempdir_in("/var/tmp")
            .unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "lc-nospace"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "mounting a tmpfs needs root");
        SmallDisk { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// The id of `reference` in the local engine, if it is there.
fn image_id(reference: &str) -> Option<String> {
    let out = Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", reference])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Cache entries a later run would take as complete, and staging
/// directories left behind.
fn complete_or_left(cache: &Path) -> Vec<String> {
    files_under(cache)
        .into_iter()
        .filter(|f| {
            let name = Path::new(f).file_name().unwrap().to_string_lossy();
            name == ".complete" || name.starts_with('.')
        })
        .collect()
}

#[test]
#[ignore = "mounts a tmpfs (root) and downloads Debian packages; run by .ci/test"]
fn a_build_on_a_full_cache_fails_naming_the_cache_and_leaves_no_entry() {
    // Room for debootstrap to start, not for the packages it downloads:
    // the first writer of a node image build runs out.
    let disk = SmallDisk::new("64m");
    let cache = disk.path().join("cache");
    const BARE: &str = "kubeadm-local-cluster/node-bare:trixie-amd64";
    let before = image_id(BARE);
    let start = Instant::now();
    let out = common::command(&dirs::home_dir().unwrap())
        .args(["build", "node-image", "--bare", "--force"])
        .env("K8S_DIND_CACHE_DIR", &cache)
        .output()
        .unwrap();
    let (_, err) = common::text(&out);
    eprintln!(
        "--- build node-image --bare --force on a 64 MiB cache ({:.1}s)\n{err}",
        start.elapsed().as_secs_f64()
    );
    assert!(!out.status.success(), "the build succeeded on a full cache");
    assert!(!err.contains("panicked"), "{err}");
    let error = err
        .lines()
        .find(|l| l.starts_with("error: "))
        .expect("an error line");
    assert!(
        error.starts_with(&format!(
            "error: no space left on device writing {}/",
            cache.display()
        )),
        "{error}"
    );
    assert!(
        error.contains(&format!(
            "the cache's filesystem is full ({}, cacheDir from env K8S_DIND_CACHE_DIR)",
            cache.display()
        )),
        "{error}"
    );
    let left = complete_or_left(&cache);
    assert!(left.is_empty(), "left in the cache: {left:?}");
    // The engine's bare image is the one it had (none was half loaded or
    // tagged in its place).
    assert_eq!(image_id(BARE), before);
}

#[test]
#[ignore = "mounts a tmpfs (root); run by .ci/test"]
fn a_node_image_build_without_room_is_refused_before_it_starts() {
    // Far less than a build from nothing writes in the tool's cache.
    let disk = SmallDisk::new("64m");
    let cache = disk.path().join("cache");
    let out = common::command(&dirs::home_dir().unwrap())
        .args(["build", "node-image", "--force"])
        .env("K8S_DIND_CACHE_DIR", &cache)
        .output()
        .unwrap();
    let (_, err) = common::text(&out);
    eprintln!("--- build node-image --force on a 64 MiB cache\n{err}");
    assert!(!out.status.success(), "the build went ahead:\n{err}");
    let error = err
        .lines()
        .find(|l| l.starts_with("error: "))
        .expect("an error line");
    assert!(
        error.starts_with("error: not enough free disk for building the node image"),
        "{error}"
    );
    assert!(
        error.contains(&format!("the tool's cache {}", cache.display())),
        "{error}"
    );
    assert!(error.contains("--cache-dir"), "{error}");
    // Refused before its first step wrote anything.
    assert!(!err.contains("base system"), "{err}");
    assert_eq!(files_under(disk.path()), Vec::<String>::new());
}

/// The engine of this file's tests, beside (not instead of) the remote
/// tests' one: its own namespace, addresses and directories.
const FULL_ENGINE: Layout = Layout {
    netns: "lc-test-nospace",
    host_link: "lctn-host",
    ns_link: "lctn-ns",
    host_addr: "198.18.251.5",
    addr: "198.18.251.6",
    dir_prefix: "lc-nospace-engine-",
    // The node image (600 MB) and one node's root and /var (about 1 GB in
    // all), with little to spare for the filler.
    data_root_size: Some("2g"),
};

/// The node image `up` would use here: the newest Kubernetes one.
fn local_node_image() -> String {
    let images = docker(&[
        "images",
        "--filter",
        "label=io.kubeadm-local-cluster.role=node-image",
        "--format",
        "{{.Repository}}:{{.Tag}}",
    ]);
    images
        .lines()
        .find(|l| l.starts_with("kubeadm-local-cluster/node:v"))
        .expect("a node image in the local engine (build node-image first)")
        .to_string()
}

#[test]
#[ignore = "starts a second dockerd on a tmpfs data root and a cluster; run by .ci/test"]
fn a_snapshot_on_a_full_engine_fails_naming_its_disk_and_leaves_no_snapshot() {
    let image = local_node_image();
    let remote = RemoteEngine::start_with(&FULL_ENGINE);
    remote.copy_image(&image);
    let mut cluster = Cluster::new("it-nospace", "10.243.0.0/24");
    cluster.extra.extend(remote.tls_env());
    cluster
        .extra
        .push(("K8S_DIND_NUM_NODES".into(), "0".into()));

    // The cluster comes up; as the step before the snapshot starts, the
    // engine's disk fills (the nodes have done their writing by then).
    let start = Instant::now();
    let mut child = cluster
        .command(&["up"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut said = String::new();
    let mut filled = false;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        eprintln!("{line}");
        if !filled && line.contains("Writing admin.conf") {
            remote.fill_data_root(0);
            filled = true;
        }
        said.push_str(&line);
        said.push('\n');
    }
    let status = child.wait().unwrap();
    eprintln!(
        "--- up on a filling engine: {:.1}s",
        start.elapsed().as_secs_f64()
    );
    remote.free_data_root();
    assert!(filled, "up never got to writing admin.conf:\n{said}");
    assert!(!status.success(), "up succeeded on a full engine:\n{said}");
    assert!(!said.contains("panicked"), "{said}");
    let error = said
        .lines()
        .find(|l| l.starts_with("error: "))
        .expect("an error line");
    let data_root = remote.data_root();
    assert!(
        error.contains(&format!(
            "the Docker engine at tcp://{}:2376 (from DOCKER_HOST) ran out of space (its data \
             root {}) while saving the snapshot of kube-master",
            FULL_ENGINE.addr,
            data_root.display()
        )),
        "{error}"
    );
    // No snapshot image at all, so none a later `up` would restore from.
    let snapshots = remote.docker(&[
        "images",
        "--filter",
        "label=io.kubeadm-local-cluster.role=snapshot",
        "--format",
        "{{.Repository}}:{{.Tag}}",
    ]);
    assert_eq!(snapshots.trim(), "", "a snapshot was left");

    // With space again, as the error says: down and up make the cluster
    // again, with its snapshot, and a second down and up restores it.
    cluster.run(&["down"]);
    let (_, said) = cluster.run(&["up"]);
    assert!(said.contains("created"), "{said}");
    cluster.run(&["down"]);
    let (_, said) = cluster.run(&["up"]);
    assert!(said.contains("restored"), "{said}");

    // `clean` keeps the tool's own images (the node image and the bare one
    // it is made from, built on this engine by the first `up`).
    cluster.run(&["clean"]);
    let left = remote.objects_but_tool_images();
    assert!(left.is_empty(), "clean left: {left:?}");
}
