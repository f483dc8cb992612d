//! Helpers shared by the integration tests: the real binary, and what the
//! Docker engine holds (asked through its API).
#![allow(dead_code)]

pub mod cluster;
pub mod networking;
pub mod oci;
pub mod podman;
pub mod remote;
pub mod remote_access;
mod remote_disk;
pub mod serve;
pub mod test_engine;
pub mod user;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use local_cluster::engine::{Containers, Docker, Images, Networks, Volumes};
use local_cluster::labels::LABEL_CLUSTER;

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_local-cluster"))
}

/// The binary with a clean environment: no K8S_DIND_* or LOCAL_CLUSTER_CONF
/// from the caller, HOME as given.
pub fn command(home: &Path) -> Command {
    let mut cmd = Command::new(bin());
    without_settings(&mut cmd);
    cmd.env("HOME", home).env("NO_COLOR", "1");
    cmd
}

/// No K8S_DIND_* or LOCAL_CLUSTER_CONF from the caller, and no
/// XDG_CACHE_HOME to move the cache.
pub fn without_settings(cmd: &mut Command) {
    for (k, _) in std::env::vars() {
        if k.starts_with("K8S_DIND_") || k == "LOCAL_CLUSTER_CONF" || k == "XDG_CACHE_HOME" {
            cmd.env_remove(k);
        }
    }
}

/// The docker CLI; panics with its message when it fails.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "docker {}: {stderr}", args.join(" "));
    stdout
}

/// A small image every test can pull or load without a registry: made with
/// `docker import` from the host's busybox-static (installed by .ci/setup),
/// with the applets the tests run.
pub const BUSYBOX: &str = "local-test/busybox:1";

/// `web`: `replicas` busybox httpd pods, each serving its own name on 8080,
/// spread over the nodes, behind the Service `web` on port 80.
pub fn web_workload(replicas: u32) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: kubernetes.io/hostname
        whenUnsatisfiable: DoNotSchedule
        nodeTaintsPolicy: Honor
        labelSelector: {{matchLabels: {{app: web}}}}
      containers:
      - name: web
        image: {BUSYBOX}
        imagePullPolicy: Never
        command: [sh, -c, 'hostname > /www/index.html; exec httpd -f -p 8080 -h /www']
        readinessProbe: {{tcpSocket: {{port: 8080}}, periodSeconds: 1}}
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080}}]
"#
    )
}

pub fn ensure_busybox_image() {
    if Command::new("docker")
        .args(["image", "inspect", BUSYBOX])
        .output()
        .unwrap()
        .status
        .success()
    {
        return;
    }
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("a static busybox on the host (Debian: apt-get install busybox-static)");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("bin")).unwrap();
    std::fs::create_dir_all(dir.path().join("www")).unwrap();
    std::fs::copy(busybox, dir.path().join("bin/busybox")).unwrap();
    for applet in [
        "sh", "echo", "wget", "nslookup", "sleep", "httpd", "hostname", "cat", "ping", "ip",
    ] {
        std::os::unix::fs::symlink("busybox", dir.path().join("bin").join(applet)).unwrap();
    }
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "tar -C {} -c . | docker import -c 'ENV PATH=/bin' - {BUSYBOX}",
            dir.path().display()
        ))
        .status()
        .unwrap();
    assert!(status.success(), "building the busybox test image failed");
}

/// The tool's cache as the tests' commands use it (they do not set
/// K8S_DIND_CACHE_DIR unless they mean to).
pub fn shared_cache() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| dirs::home_dir().unwrap().join(".cache"))
        .join("kubeadm-local-cluster")
}

/// The complete entries of the shared cache's Go builds whose names hold
/// `name_part`: builds of other Kubernetes versions (a conformance run of an
/// older release) and other builds from the same module (test images) may
/// sit beside the one a test wants.
pub fn go_builds(name_part: &str) -> Vec<PathBuf> {
    // Go modules' builds, and Kubernetes' (built as a source tree).
    ["go-build", "kubernetes-build"]
        .iter()
        .filter_map(|kind| std::fs::read_dir(shared_cache().join(kind)).ok())
        .flat_map(|entries| entries.flatten())
        .filter(|e| e.file_name().to_string_lossy().contains(name_part))
        .map(|e| e.path())
        .filter(|p| p.join(".complete").exists())
        .collect()
}

/// A cache for a download test: the parts named in `shared` are the usual
/// cache's (slow builds that do not depend on downloads), everything else
/// starts empty, so downloads really come from the server.
pub fn cache_sharing(shared: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for part in shared {
        let target = shared_cache().join(part);
        if target.exists() {
            std::os::unix::fs::symlink(target, dir.path().join(part)).unwrap();
        }
    }
    dir
}

/// Every (container port, host address) a container's ports are published
/// on, as the engine reports them.
pub fn published_ports(container: &str) -> Vec<(String, String)> {
    let json = docker(&[
        "inspect",
        "-f",
        "{{json .NetworkSettings.Ports}}",
        container,
    ]);
    let ports: std::collections::BTreeMap<String, Option<Vec<serde_json::Value>>> =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{container}: {e}: {json}"));
    let mut all = Vec::new();
    for (port, bindings) in ports {
        for b in bindings.unwrap_or_default() {
            all.push((
                port.clone(),
                b["HostIp"].as_str().unwrap_or("?").to_string(),
            ));
        }
    }
    all
}

pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A Docker endpoint nobody serves: a socket that only notes whether the
/// tool connected. Commands that must refuse their input before touching an
/// engine run against it, so those tests need no Docker engine at all.
pub struct NoEngine {
    _dir: tempfile::TempDir,
    socket: PathBuf,
    contacted: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl NoEngine {
    pub fn new() -> NoEngine {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("docker.sock");
        let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let contacted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = contacted.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                drop(stream);
            }
        });
        NoEngine {
            _dir: dir,
            socket,
            contacted,
        }
    }

    /// The value for DOCKER_HOST.
    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    pub fn was_contacted(&self) -> bool {
        self.contacted.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Everything the engine holds for a cluster name: containers, volumes,
/// networks and images carrying its label.
pub fn engine_objects(cluster: &str) -> Vec<String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let engine = Docker::connect()
            .await
            .expect("a Docker engine for the tests");
        let labels = [(LABEL_CLUSTER, cluster)];
        let mut found = Vec::new();
        for c in engine.list_containers(&labels).await.unwrap() {
            found.push(format!("container {}", c.name));
        }
        for v in engine.list_volumes(&labels).await.unwrap() {
            found.push(format!("volume {v}"));
        }
        for n in engine.list_networks().await.unwrap() {
            if n.labels.get(LABEL_CLUSTER).map(String::as_str) == Some(cluster) {
                found.push(format!("network {}", n.name));
            }
        }
        for image in engine.list_images(&labels).await.unwrap() {
            found.push(format!("image {} {:?}", image.id, image.tags));
        }
        found
    })
}

/// The node image build containers but those of another architecture (the
/// arch tier's, running beside, are not leftovers of the tests here), as
/// `name image` lines.
pub fn node_image_builders() -> Vec<String> {
    use local_cluster::images::foreign::{is_foreign, TARGETS};
    docker(&[
        "ps",
        "-a",
        "--filter",
        "name=local-cluster-build-",
        "--format",
        "{{.Names}} {{.Image}}",
    ])
    .lines()
    .filter(|l| {
        !TARGETS
            .iter()
            .any(|t| is_foreign(t.go) && l.ends_with(&format!("-{}", t.go)))
    })
    .map(str::to_string)
    .collect()
}

/// Files under `dir`, relative.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let p = e.path();
                out.push(p.strip_prefix(base).unwrap().display().to_string());
                if p.is_dir() {
                    walk(base, &p, out);
                }
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

/// Does this machine mount cgroup v2 alone (the unified hierarchy at
/// /sys/fs/cgroup), as most hosts do today? (This one has v1.)
pub fn host_cgroup_v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// Each kubelet manages only its own node's cgroup: the pods' slice is under
/// the node container's cgroup on the host (container `id`, of any engine
/// on this machine), never at the host's root.
pub fn assert_kubepods_confined(container: &str, id: &str) {
    let inside = [
        format!("/sys/fs/cgroup/memory/docker/{id}/kubepods.slice"),
        format!("/sys/fs/cgroup/docker/{id}/kubepods.slice"),
        format!("/sys/fs/cgroup/system.slice/docker-{id}.scope/kubepods.slice"),
    ];
    assert!(
        inside.iter().any(|p| Path::new(p).exists()),
        "no kubepods.slice under {container}'s cgroup (looked at {inside:?})"
    );
    for root in [
        "/sys/fs/cgroup/memory/kubepods.slice",
        "/sys/fs/cgroup/kubepods.slice",
        "/sys/fs/cgroup/memory/kubepods",
    ] {
        assert!(
            !Path::new(root).exists(),
            "{root} exists: a kubelet escaped its node"
        );
    }
}
