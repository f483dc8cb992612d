//! A "remote" Docker engine for the tests: a second dockerd in a network
//! namespace of its own, with its own data root, exec root and socket,
//! listening with TLS on the namespace's address only, and an sshd there
//! whose sessions reach it. This machine reaches the namespace over a veth
//! pair, so everything the tool sends it crosses a real network link, and
//! no test traffic goes anywhere else.
//!
//! The namespace shares this machine's file systems; what the tests prove
//! is that the tool talks to the engine only through its API (a bind mount
//! of a local path would go unnoticed here, so the tool makes none).
//!
//! Being the tests' own, the engine can be restarted
//! ([`RemoteEngine::restart`]) and given OCI runtimes on its command line
//! ([`RemoteEngine::build`]) without touching this machine's dockerd or
//! its configuration. Contexts, ssh and certificates: remote_access.rs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// The remote engine's address (198.18.0.0/15 is reserved for tests of
/// network devices: nothing else on the machine uses it).
pub const ADDR: &str = "198.18.251.2";
pub const TLS_PORT: u16 = 2376;

/// Where a test engine lives: its namespace, link and addresses (a /30),
/// its directory's prefix, and optionally a data root of a fixed size.
/// Each test file that starts engines uses its own, so that they can run
/// at the same time.
pub struct Layout {
    pub netns: &'static str,
    pub host_link: &'static str,
    pub ns_link: &'static str,
    pub host_addr: &'static str,
    pub addr: &'static str,
    /// Under /var/tmp.
    pub dir_prefix: &'static str,
    /// A tmpfs of this size (`mount -o size=`) as the data root, so that
    /// a test can fill the engine's disk without touching this machine's.
    pub data_root_size: Option<&'static str>,
}

/// The engine of the remote-engine tests.
pub const REMOTE: Layout = Layout {
    netns: "lc-test-remote",
    host_link: "lctr-host",
    ns_link: "lctr-ns",
    host_addr: "198.18.251.1",
    addr: ADDR,
    dir_prefix: "lc-remote-",
    data_root_size: None,
};

pub struct RemoteEngine {
    pub dir: tempfile::TempDir,
    /// The engine's address.
    pub addr: &'static str,
    pub(super) netns: &'static str,
    host_link: &'static str,
    /// dockerd's command line after `nsenter --net=...`, and the PATH it
    /// runs with when not this machine's, kept for restarts.
    args: Vec<String>,
    path: Option<String>,
    dockerd: Child,
    pub(super) sshd: Option<Child>,
}

/// A test engine with more than its [`Layout`]: OCI runtimes registered on
/// its dockerd's command line (`--add-runtime`), each a script written into
/// the engine's own directory. Nothing of this machine's engine or its
/// configuration is involved.
pub struct EngineBuilder<'a> {
    layout: &'a Layout,
    runtimes: Vec<(String, String)>,
    /// A directory with usr/sbin and usr/bin of another Docker (dockerd,
    /// containerd), searched before this machine's.
    binaries: Option<PathBuf>,
    containerd_store: bool,
}

impl EngineBuilder<'_> {
    /// Register runtime `name`: `script` becomes the executable
    /// `<engine dir>/runtimes/<name>`, passed as `--add-runtime name=path`.
    pub fn runtime(mut self, name: &str, script: &str) -> Self {
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
            "runtime name {name:?}: use letters, digits, '-', '_' and '.' only \
             (it becomes a file name and an --add-runtime argument)"
        );
        assert!(
            script.starts_with("#!"),
            "runtime {name}: the script must start with a #! line (it is run as a program)"
        );
        assert!(
            !self.runtimes.iter().any(|(n, _)| n == name),
            "runtime {name} registered twice"
        );
        self.runtimes.push((name.to_string(), script.to_string()));
        self
    }

    /// Run the dockerd and containerd under `dir` (an unpacked Docker
    /// package: `usr/sbin`, `usr/bin`) instead of this machine's.
    pub fn binaries(mut self, dir: &Path) -> Self {
        self.binaries = Some(dir.to_path_buf());
        self
    }

    /// Keep images in containerd (the image store new Docker installs
    /// use), not in the classic graph driver's store.
    pub fn containerd_store(mut self) -> Self {
        self.containerd_store = true;
        self
    }

    pub fn start(self) -> RemoteEngine {
        RemoteEngine::start_built(self)
    }
}

pub(super) fn sh(script: &str) {
    let out = Command::new("sh").arg("-ec").arg(script).output().unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Remove what an interrupted earlier run left: its engine's containers,
/// dockerd and sshd, their directory, then the namespace.
fn remove_leftovers(layout: &Layout) {
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "for d in /var/tmp/{}*; do \
               [ -d \"$d\" ] || continue; \
               if [ -S \"$d/docker.sock\" ]; then \
                 ids=$(DOCKER_HOST=unix://$d/docker.sock timeout 20 docker ps -aq 2>/dev/null); \
                 [ -z \"$ids\" ] || DOCKER_HOST=unix://$d/docker.sock timeout 60 docker rm -f $ids >/dev/null 2>&1; \
               fi; \
               for pid in \"$d/sshd.pid\" \"$d/docker.pid\"; do [ -f $pid ] && kill -TERM $(cat $pid) 2>/dev/null; done; \
               sleep 3; \
               grep -o \" $d[^ ]*\" /proc/mounts | sort -r | xargs -r -n1 umount -l; \
               rm -rf \"$d\"; \
             done",
            layout.dir_prefix
        ))
        .status();
    remove_namespace(layout.netns, layout.host_link);
}

/// The layout's namespace, linked to this machine by its veth pair.
pub(super) fn make_namespace(layout: &Layout) {
    let Layout {
        netns,
        host_link,
        ns_link,
        host_addr,
        addr,
        ..
    } = layout;
    sh(&format!(
        "ip netns add {netns}
         ip link add {host_link} type veth peer name {ns_link}
         ip link set {ns_link} netns {netns}
         ip addr add {host_addr}/30 dev {host_link}
         ip link set {host_link} up
         ip -n {netns} addr add {addr}/30 dev {ns_link}
         ip -n {netns} link set {ns_link} up
         ip -n {netns} link set lo up"
    ));
}

/// Stop the processes in the namespace and remove it (its veth end goes
/// with it).
pub(super) fn remove_namespace(netns: &str, host_link: &str) {
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "for p in $(ip netns pids {netns} 2>/dev/null); do kill -TERM $p; done; \
             sleep 1; \
             for p in $(ip netns pids {netns} 2>/dev/null); do kill -KILL $p; done; \
             ip netns del {netns} 2>/dev/null; ip link del {host_link} 2>/dev/null; true"
        ))
        .status();
}

/// dockerd in the namespace, its output appended to `<dir>/dockerd.log`.
/// nsenter, not `ip netns exec`: the latter remounts /sys, hiding the
/// cgroup file systems dockerd needs.
fn spawn_dockerd(netns: &str, args: &[String], path: &Option<String>, dir: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("dockerd.log"))
        .unwrap();
    let mut command = Command::new("nsenter");
    if let Some(path) = path {
        command.env("PATH", path);
    }
    command
        .arg(format!("--net=/run/netns/{netns}"))
        .args(args)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

impl RemoteEngine {
    pub fn start() -> RemoteEngine {
        RemoteEngine::start_with(&REMOTE)
    }

    pub fn start_with(layout: &Layout) -> RemoteEngine {
        RemoteEngine::build(layout).start()
    }

    /// An engine on `layout` with more set up before it starts (see
    /// [`EngineBuilder`]).
    pub fn build(layout: &Layout) -> EngineBuilder<'_> {
        EngineBuilder {
            layout,
            runtimes: Vec::new(),
            binaries: None,
            containerd_store: false,
        }
    }

    fn start_built(options: EngineBuilder) -> RemoteEngine {
        let layout = options.layout;
        remove_leftovers(layout);
        make_namespace(layout);
        let Layout {
            netns,
            host_link,
            addr,
            ..
        } = layout;
        // Under /var/tmp: the engine's overlay file systems need a disk,
        // not the tmpfs /tmp may be.
        let dir = tempfile::Builder::new()
            .prefix(layout.dir_prefix)
            .tempdir_in("/var/tmp")
            .unwrap();
        let d = dir.path();
        super::remote_access::make_certificates(d, addr);
        for sub in ["data", "exec", "runtimes"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        if let Some(size) = layout.data_root_size {
            sh(&format!(
                "mount -t tmpfs -o size={size} lc-test-data-root {}",
                d.join("data").display()
            ));
        }
        let mut args = vec![
            "dockerd".to_string(),
            format!("--data-root={}", d.join("data").display()),
            format!("--exec-root={}", d.join("exec").display()),
            format!("--pidfile={}", d.join("docker.pid").display()),
            format!("-H=unix://{}", d.join("docker.sock").display()),
            format!("-H=tcp://{addr}:{TLS_PORT}"),
            "--tlsverify".to_string(),
            format!("--tlscacert={}", d.join("ca.pem").display()),
            format!("--tlscert={}", d.join("server.pem").display()),
            format!("--tlskey={}", d.join("server-key.pem").display()),
        ];
        for (name, script) in &options.runtimes {
            let path = d.join("runtimes").join(name);
            std::fs::write(&path, script).unwrap();
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
            args.push(format!("--add-runtime={name}={}", path.display()));
        }
        if options.containerd_store {
            let config = d.join("daemon.json");
            std::fs::write(&config, r#"{"features": {"containerd-snapshotter": true}}"#).unwrap();
            args.push(format!("--config-file={}", config.display()));
        }
        let path = options.binaries.as_ref().map(|bin| {
            format!(
                "{0}/usr/sbin:{0}/usr/bin:{1}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            )
        });
        let dockerd = spawn_dockerd(netns, &args, &path, d);
        let engine = RemoteEngine {
            dir,
            addr,
            netns,
            host_link,
            args,
            path,
            dockerd,
            sshd: None,
        };
        engine.wait_ready("start");
        engine
    }

    /// Wait until the engine answers `docker info`.
    fn wait_ready(&self, what: &str) {
        let start = Instant::now();
        while !self.docker_ok(&["info"]) {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the test engine did not {what} within 60 s: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("dockerd.log")).unwrap_or_default()
    }

    /// Stop dockerd with SIGTERM (it stops its containers, as at a
    /// shutdown of its machine) and wait until it has exited.
    fn stop(&mut self, within: Duration) -> bool {
        let _ = kill(Pid::from_raw(self.dockerd.id() as i32), Signal::SIGTERM);
        let start = Instant::now();
        while start.elapsed() < within {
            if let Ok(Some(_)) = self.dockerd.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        false
    }

    /// Restart the engine the way a machine restarts its dockerd: SIGTERM,
    /// wait for it to exit, then the same command line in the same
    /// namespace with the same data root; returns once `docker info`
    /// answers. Containers it stopped stay stopped (they have no restart
    /// policy), as with any engine restart.
    pub fn restart(&mut self) {
        let pid = self.dockerd.id();
        assert!(
            self.stop(Duration::from_secs(120)),
            "the test engine (pid {pid}) did not exit within 120 s of SIGTERM: {}",
            self.log()
        );
        assert!(
            !self.path("docker.pid").exists(),
            "dockerd exited but left its pid file"
        );
        self.dockerd = spawn_dockerd(self.netns, &self.args, &self.path, self.dir.path());
        self.wait_ready("start again after a restart");
        eprintln!(
            "test engine at {} restarted: pid {pid} -> {}",
            self.addr,
            self.dockerd.id()
        );
    }

    /// dockerd's process id (it changes with a restart).
    pub fn pid(&self) -> u32 {
        self.dockerd.id()
    }

    /// The runtimes the engine reports (`docker info`).
    pub fn runtimes(&self) -> Vec<String> {
        let json = self.docker(&["info", "--format", "{{json .Runtimes}}"]);
        let map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(json.trim()).unwrap_or_else(|e| panic!("{e}: {json}"));
        map.keys().cloned().collect()
    }

    pub(super) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The docker CLI on the engine's own socket (the tests' view, not the
    /// tool's).
    pub fn docker(&self, args: &[&str]) -> String {
        let out = Command::new("docker")
            .env(
                "DOCKER_HOST",
                format!("unix://{}", self.path("docker.sock").display()),
            )
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "remote docker {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Whether the docker CLI on the engine's own socket succeeds.
    pub fn docker_ok(&self, args: &[&str]) -> bool {
        Command::new("docker")
            .env(
                "DOCKER_HOST",
                format!("unix://{}", self.path("docker.sock").display()),
            )
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Environment for the tool: the engine over TLS.
    pub fn tls_env(&self) -> Vec<(String, String)> {
        vec![
            (
                "DOCKER_HOST".into(),
                format!("tcp://{}:{TLS_PORT}", self.addr),
            ),
            ("DOCKER_TLS_VERIFY".into(), "1".into()),
            (
                "DOCKER_CERT_PATH".into(),
                self.path("client").display().to_string(),
            ),
            ("DOCKER_CONTEXT".into(), String::new()),
            (
                "DOCKER_CONFIG".into(),
                self.path("no-docker-config").display().to_string(),
            ),
        ]
    }
}

impl super::test_engine::TestEngine for RemoteEngine {
    fn docker(&self, args: &[&str]) -> String {
        RemoteEngine::docker(self, args)
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn tool_env(&self) -> Vec<(String, String)> {
        self.tls_env()
    }
}

impl Drop for RemoteEngine {
    fn drop(&mut self) {
        if let Some(mut sshd) = self.sshd.take() {
            let _ = sshd.kill();
            let _ = sshd.wait();
        }
        // SIGTERM lets dockerd stop its containers and unmount their file
        // systems before the data root is removed.
        if !self.stop(Duration::from_secs(60)) {
            let _ = self.dockerd.kill();
        }
        let _ = self.dockerd.wait();
        remove_namespace(self.netns, self.host_link);
        // Mounts left under the data root would make its removal fail.
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "grep -o ' {0}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l",
                self.dir.path().display()
            ))
            .status();
    }
}
