//! Helpers shared by the integration tests: the real binary, and what the
//! Docker engine holds (asked through its API).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use local_cluster::engine::{Containers, Docker, Images, Networks, Volumes, LABEL_CLUSTER};

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_local-cluster"))
}

/// The binary with a clean environment: no K8S_DIND_* or LOCAL_CLUSTER_CONF
/// from the caller, HOME as given.
pub fn command(home: &Path) -> Command {
    let mut cmd = Command::new(bin());
    for (k, _) in std::env::vars() {
        if k.starts_with("K8S_DIND_") || k == "LOCAL_CLUSTER_CONF" || k == "XDG_CACHE_HOME" {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", home).env("NO_COLOR", "1");
    cmd
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
