//! Node images for real: what is inside, and the release-download path
//! against an HTTP server on 127.0.0.1 laid out like the official release
//! site. Ignored by default; run by .ci/test.

use crate::common;

use std::path::PathBuf;
use std::process::Command;

use common::serve::serve;
use common::{bin, cache_sharing, docker, text};
use sha2::{Digest, Sha256};

const VERSION: &str = "v1.37.2";
const IMAGE: &str = "kubeadm-local-cluster/node:v1.37.2-amd64";

fn local_cluster(env: &[(&str, &str)], args: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env("K8S_DIND_KUBERNETES_SOURCE", "go-module")
        .env("K8S_DIND_IMAGE_SOURCE", "build")
        .env("K8S_DIND_ADDONS", "")
        .env_remove("LOCAL_CLUSTER_CONF");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let (stdout, stderr) = text(&out);
    eprintln!("--- local-cluster {}\n{stderr}{stdout}", args.join(" "));
    (out.status.success(), stdout, stderr)
}

/// Run a script in a throwaway container of the node image, with its
/// containerd started (but not systemd): what is inside, not how it boots.
fn in_node_image(script: &str) -> String {
    let full = format!(
        "containerd >/dev/null 2>&1 & for i in $(seq 100); do ctr version >/dev/null 2>&1 && break; sleep 0.1; done; {script}"
    );
    docker(&["run", "--rm", "--entrypoint", "sh", IMAGE, "-c", &full])
}

#[test]
#[ignore = "builds Kubernetes and the node image (minutes on a cold cache); run by .ci/test"]
fn node_image_holds_every_kubeadm_image_and_the_right_versions() {
    let (ok, stdout, _) = local_cluster(&[], &["build", "node-image"]);
    assert!(ok);
    assert!(stdout.contains(IMAGE), "{stdout}");
    let wanted = in_node_image(&format!(
        "kubeadm config images list --kubernetes-version {VERSION}"
    ));
    let present = in_node_image("ctr --namespace k8s.io images ls -q");
    let wanted: Vec<&str> = wanted.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(wanted.len(), 7, "{wanted:?}");
    for image in &wanted {
        assert!(
            present.lines().any(|l| l == *image),
            "{image} is not preloaded; containerd has:\n{present}"
        );
    }
    let versions =
        in_node_image("kubeadm version -o short; kubelet --version; kubectl version --client");
    assert!(versions.contains(&format!("{VERSION}\n")), "{versions}");
    assert!(
        versions.contains(&format!("Kubernetes {VERSION}")),
        "{versions}"
    );
    assert!(
        versions.contains(&format!("Client Version: {VERSION}")),
        "{versions}"
    );
}

/// The Kubernetes binaries the Go-module build of this version cached.
fn built_binaries() -> PathBuf {
    common::go_builds(&format!("-{VERSION}-"))
        .into_iter()
        .map(|p| p.join("bin"))
        .find(|bin| {
            local_cluster::artifacts::ALL_BINARIES
                .iter()
                .all(|name| bin.join(name).is_file())
        })
        .expect("the Go-module build of Kubernetes in the cache")
}

/// Shares the slow, download-independent parts (the Debian base, Go builds
/// of etcd and CoreDNS, pause) with the usual cache, but not the downloads.
fn download_test_cache() -> tempfile::TempDir {
    cache_sharing(&["base", "go-build", "go-wrappers", "pause", "layers"])
}

#[test]
#[ignore = "builds Kubernetes and the node image (minutes on a cold cache); run by .ci/test"]
fn release_downloads_are_verified_against_published_checksums() {
    // Binaries we built, published as the release site lays them out.
    let (ok, _, _) = local_cluster(&[], &["build", "node-image"]);
    assert!(ok);
    let built = built_binaries();
    let site = tempfile::tempdir().unwrap();
    let dir = site
        .path()
        .join(format!("release/{VERSION}/bin/linux/amd64"));
    std::fs::create_dir_all(&dir).unwrap();
    for name in local_cluster::artifacts::ALL_BINARIES {
        let data = std::fs::read(built.join(name)).unwrap();
        std::fs::write(dir.join(name), &data).unwrap();
        std::fs::write(
            dir.join(format!("{name}.sha256")),
            hex::encode(Sha256::digest(&data)),
        )
        .unwrap();
    }
    let url = serve(site.path().to_path_buf());

    let cache = download_test_cache();
    let env = [
        ("K8S_DIND_KUBERNETES_SOURCE", "release"),
        ("K8S_DIND_RELEASE_URL", url.as_str()),
        ("K8S_DIND_CACHE_DIR", cache.path().to_str().unwrap()),
    ];
    let (ok, stdout, stderr) = local_cluster(&env, &["build", "node-image", "--v", "2"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains(IMAGE));
    let versions = in_node_image("kubeadm version -o short");
    assert_eq!(versions.trim(), VERSION);

    // A published checksum that does not match: the build fails, naming the
    // file and both sums, and the download does not enter the cache.
    let cache = download_test_cache();
    let wrong = "0".repeat(64);
    std::fs::write(dir.join("kubelet.sha256"), &wrong).unwrap();
    let actual = hex::encode(Sha256::digest(std::fs::read(dir.join("kubelet")).unwrap()));
    let env = [
        ("K8S_DIND_KUBERNETES_SOURCE", "release"),
        ("K8S_DIND_RELEASE_URL", url.as_str()),
        ("K8S_DIND_CACHE_DIR", cache.path().to_str().unwrap()),
    ];
    let (ok, _, stderr) = local_cluster(&env, &["build", "node-image"]);
    assert!(!ok);
    assert!(
        stderr.contains(&format!("checksum mismatch for kubelet (downloaded from {url}/{VERSION}/bin/linux/amd64/kubelet): expected sha256 {wrong}, got {actual}")),
        "{stderr}"
    );
    let cached: Vec<String> = std::fs::read_dir(cache.path().join("downloads"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !cached.iter().any(|n| n.starts_with("kubelet-")),
        "a bad download was cached: {cached:?}"
    );

    // Leave the engine with the usual (Go-module) node image; the one from
    // the release binaries, which it replaces, must not linger untagged.
    let (ok, _, _) = local_cluster(&[], &["build", "node-image"]);
    assert!(ok);
    let superseded = docker(&[
        "image",
        "ls",
        "--quiet",
        "--filter",
        "dangling=true",
        "--filter",
        &format!(
            "label={}={}",
            local_cluster::labels::LABEL_ROLE,
            local_cluster::labels::ROLE_NODE_IMAGE
        ),
    ]);
    assert_eq!(
        superseded.trim(),
        "",
        "superseded node images were left behind"
    );
}

/// Removes the test's container, whatever the test's outcome.
struct Container(&'static str);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "--force", "--volumes", self.0])
            .output();
    }
}

/// A node container of `image` (run as `up` runs nodes where --privileged is
/// refused) whose entrypoint starts while a Go program in it holds
/// /sys/fs/cgroup/cpu open, as kubectl exec'd by `up` into a booting master
/// does (the Go runtime keeps cpu.cfs_quota_us open to follow the CPU
/// limit). The entrypoint must replace the read-only hierarchy anyway and
/// systemd must boot. Returns the node's log.
fn boot_with_the_cpu_cgroup_held(image: &str) -> String {
    const NAME: &str = "lc-test-entrypoint-cgroup-held";
    let _ = Command::new("docker")
        .args(["rm", "--force", "--volumes", NAME])
        .output();
    let _guard = Container(NAME);
    // kubectl proxy serves without asking the (absent) API server, so it
    // lives until the container stops; the entrypoint starts only once it
    // holds the file.
    let script = "kubectl proxy --server http://127.0.0.1:1 --port 0 >/dev/null 2>&1 & \
        for i in $(seq 100); do \
          if ls -l /proc/$!/fd 2>/dev/null | grep -q /sys/fs/cgroup/cpu/; then \
            echo 'test: kubectl holds /sys/fs/cgroup/cpu' >&2; break; fi; \
          sleep 0.1; done; \
        exec /usr/local/bin/local-cluster-entrypoint /sbin/init";
    docker(&[
        "run",
        "--detach",
        "--tty",
        "--name",
        NAME,
        "--cap-add",
        "ALL",
        "--cap-drop",
        "SYS_RESOURCE",
        "--security-opt",
        "seccomp=unconfined",
        "--security-opt",
        "apparmor=unconfined",
        "--security-opt",
        "systempaths=unconfined",
        "--device-cgroup-rule",
        "a *:* rwm",
        "--device",
        "/dev/kmsg",
        "--cgroupns",
        "private",
        "--tmpfs",
        "/tmp",
        "--tmpfs",
        "/run",
        "--tmpfs",
        "/run/lock",
        "--volume",
        "/var",
        "--stop-signal",
        "SIGRTMIN+3",
        "--entrypoint",
        "sh",
        image,
        "-c",
        script,
    ]);
    let log = || {
        let out = Command::new("docker")
            .args(["logs", NAME])
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        format!("{stdout}{stderr}")
    };
    let mut state = String::new();
    for _ in 0..240 {
        let out = Command::new("docker")
            .args(["exec", NAME, "systemctl", "is-system-running"])
            .output()
            .unwrap();
        state = text(&out).0.trim().to_string();
        if state == "running" || state == "degraded" {
            break;
        }
        let running = docker(&["inspect", "--format", "{{.State.Running}}", NAME]);
        assert_eq!(running.trim(), "true", "the node stopped:\n{}", log());
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    let log = log();
    assert!(
        state == "running" || state == "degraded",
        "systemd: {state}\n{log}"
    );
    let options = docker(&[
        "exec",
        NAME,
        "awk",
        "$5 == \"/sys/fs/cgroup/cpu\" { print $6 }",
        "/proc/1/mountinfo",
    ]);
    assert!(
        options.lines().count() == 1 && options.starts_with("rw,"),
        "/sys/fs/cgroup/cpu is mounted with {options:?}"
    );
    log
}

#[test]
#[ignore = "builds Kubernetes and the node image (minutes on a cold cache); run by .ci/test"]
fn the_entrypoint_replaces_a_cgroup_hierarchy_a_go_program_holds_open() {
    if common::host_cgroup_v2() {
        // One unified hierarchy, mounted by the engine as the container's
        // own: no per-controller hierarchy to replace, so no race.
        eprintln!("skipped: the host has cgroup v2; the race is with v1's cpu hierarchy");
        return;
    }
    let (ok, _, _) = local_cluster(&[], &["build", "node-image"]);
    assert!(ok);
    let log = boot_with_the_cpu_cgroup_held(IMAGE);
    assert!(
        log.contains("test: kubectl holds /sys/fs/cgroup/cpu"),
        "{log}"
    );
    assert!(!log.contains("busy"), "{log}");
}
