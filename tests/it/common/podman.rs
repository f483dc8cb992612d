//! Podman's Docker-compatible API for the tests: `podman system service` in
//! a network namespace of its own (a [`Layout`], as the test dockerds have),
//! listening on the namespace's address over plain TCP (the service has no
//! TLS of its own), with its own storage, run root and network
//! configuration directory: neither this machine's Podman storage nor
//! /etc/cni is touched. Rootful; needs `podman` (.ci/setup installs it).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::remote::{make_namespace, remove_namespace, Layout};
use super::test_engine::TestEngine;

pub const PORT: u16 = 2375;

pub struct PodmanEngine {
    dir: tempfile::TempDir,
    addr: &'static str,
    netns: &'static str,
    host_link: &'static str,
    service: Child,
}

/// `podman`'s options for the engine's own storage, run root and networks.
fn podman_options(dir: &Path) -> Vec<String> {
    vec![
        format!("--root={}", dir.join("root").display()),
        format!("--runroot={}", dir.join("run").display()),
        format!("--network-config-dir={}", dir.join("networks").display()),
        "--cgroup-manager=cgroupfs".to_string(),
    ]
}

fn podman(dir: &Path) -> Command {
    let mut command = Command::new("podman");
    command
        .env("CONTAINERS_CONF", dir.join("containers.conf"))
        .args(podman_options(dir));
    command
}

/// Remove what an earlier run left: its containers (Podman's outlive the
/// service), mounts and directories, then the namespace.
fn remove_leftovers(layout: &Layout) {
    for entry in std::fs::read_dir("/var/tmp").unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(layout.dir_prefix) && path.is_dir() {
            remove_containers_and_mounts(&path);
            let _ = std::fs::remove_dir_all(&path);
        }
    }
    remove_namespace(layout.netns, layout.host_link);
}

fn remove_containers_and_mounts(dir: &Path) {
    let _ = podman(dir)
        .args(["rm", "--all", "--force", "--time=0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "grep -o ' {0}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l",
            dir.display()
        ))
        .status();
}

/// The hard limit named `name` in `limits` (a /proc/PID/limits).
fn hard_limit(limits: &str, name: &str) -> String {
    let line = limits
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no {name:?} in the service's limits: {limits}"));
    line[name.len()..]
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string()
}

/// `podman system service` in the namespace, listening on the layout's
/// address, with the engine's own directories and containers.conf.
fn spawn_service(layout: &Layout, dir: &Path) -> Child {
    let log = std::fs::File::create(dir.join("service.log")).unwrap();
    Command::new("nsenter")
        .env("CONTAINERS_CONF", dir.join("containers.conf"))
        .env("CONTAINERS_REGISTRIES_CONF", dir.join("registries.conf"))
        .arg(format!("--net=/run/netns/{}", layout.netns))
        .arg("podman")
        .args(podman_options(dir))
        .args(["system", "service", "--time=0"])
        .arg(format!("tcp://{}:{PORT}", layout.addr))
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

fn stop_service(service: &mut Child) {
    let _ = kill(Pid::from_raw(service.id() as i32), Signal::SIGTERM);
    let _ = service.wait();
}

impl PodmanEngine {
    pub fn start(layout: &Layout) -> PodmanEngine {
        remove_leftovers(layout);
        make_namespace(layout);
        let dir = tempfile::Builder::new()
            .prefix(layout.dir_prefix)
            .tempdir_in("/var/tmp")
            .unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("networks")).unwrap();
        std::fs::write(d.join("containers.conf"), "[containers]\n").unwrap();
        // Podman speaks HTTPS to any registry not marked insecure, the
        // cluster's on loopback too (Docker makes an exception of loopback):
        // marked as the tool's error for it tells users to.
        std::fs::write(
            d.join("registries.conf"),
            "[[registry]]\nlocation = \"localhost:5001\"\ninsecure = true\n",
        )
        .unwrap();
        let mut engine = PodmanEngine {
            addr: layout.addr,
            netns: layout.netns,
            host_link: layout.host_link,
            service: spawn_service(layout, d),
            dir,
        };
        engine.await_service();
        // Podman 4 gives containers 1048576 open files and 4194304
        // processes unless told otherwise, more than a root without
        // CAP_SYS_RESOURCE (this machine) may grant; the service's own
        // limits (it sets them at start: 32768 processes here, below this
        // process's) are what its containers can have. Learnt from the
        // service, then given to it.
        let limits =
            std::fs::read_to_string(format!("/proc/{}/limits", engine.service.id())).unwrap();
        let files = hard_limit(&limits, "Max open files");
        let processes = hard_limit(&limits, "Max processes");
        stop_service(&mut engine.service);
        let d = engine.dir.path();
        std::fs::write(
            d.join("containers.conf"),
            format!(
                "[containers]\ndefault_ulimits = [\"nofile={files}:{files}\", \"nproc={processes}:{processes}\"]\n"
            ),
        )
        .unwrap();
        engine.service = spawn_service(layout, d);
        engine.await_service();
        engine
    }

    fn await_service(&self) {
        let start = Instant::now();
        while !self.cli(&["info"]).status.success() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the Podman service did not answer within 60 s: {}",
                std::fs::read_to_string(self.dir.path().join("service.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    fn host(&self) -> String {
        format!("tcp://{}:{PORT}", self.addr)
    }

    fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .env("DOCKER_HOST", self.host())
            .env_remove("DOCKER_TLS_VERIFY")
            .env_remove("DOCKER_CERT_PATH")
            .env("DOCKER_CONTEXT", "")
            .args(args)
            .output()
            .unwrap()
    }
}

impl TestEngine for PodmanEngine {
    fn docker(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "docker {} on Podman: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn tool_env(&self) -> Vec<(String, String)> {
        vec![
            ("DOCKER_HOST".into(), self.host()),
            ("DOCKER_TLS_VERIFY".into(), "0".into()),
            ("DOCKER_CONTEXT".into(), String::new()),
            (
                "DOCKER_CONFIG".into(),
                self.dir
                    .path()
                    .join("no-docker-config")
                    .display()
                    .to_string(),
            ),
        ]
    }
}

impl Drop for PodmanEngine {
    fn drop(&mut self) {
        stop_service(&mut self.service);
        remove_containers_and_mounts(self.dir.path());
        remove_namespace(self.netns, self.host_link);
    }
}
