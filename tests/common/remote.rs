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

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
    netns: &'static str,
    host_link: &'static str,
    dockerd: Child,
    sshd: Option<Child>,
}

fn sh(script: &str) {
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

/// Stop the processes in the namespace and remove it (its veth end goes
/// with it).
fn remove_namespace(netns: &str, host_link: &str) {
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

impl RemoteEngine {
    pub fn start() -> RemoteEngine {
        RemoteEngine::start_with(&REMOTE)
    }

    pub fn start_with(layout: &Layout) -> RemoteEngine {
        remove_leftovers(layout);
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
        // Under /var/tmp: the engine's overlay file systems need a disk,
        // not the tmpfs /tmp may be.
        let dir = tempfile::Builder::new()
            .prefix(layout.dir_prefix)
            .tempdir_in("/var/tmp")
            .unwrap();
        let d = dir.path();
        make_certificates(d, addr);
        for sub in ["data", "exec"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        if let Some(size) = layout.data_root_size {
            sh(&format!(
                "mount -t tmpfs -o size={size} lc-test-data-root {}",
                d.join("data").display()
            ));
        }
        // nsenter, not `ip netns exec`: the latter remounts /sys, hiding the
        // cgroup file systems dockerd needs.
        let log = std::fs::File::create(d.join("dockerd.log")).unwrap();
        let dockerd = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{netns}"))
            .arg("dockerd")
            .arg(format!("--data-root={}", d.join("data").display()))
            .arg(format!("--exec-root={}", d.join("exec").display()))
            .arg(format!("--pidfile={}", d.join("docker.pid").display()))
            .arg(format!("-H=unix://{}", d.join("docker.sock").display()))
            .arg(format!("-H=tcp://{addr}:{TLS_PORT}"))
            .arg("--tlsverify")
            .arg(format!("--tlscacert={}", d.join("ca.pem").display()))
            .arg(format!("--tlscert={}", d.join("server.pem").display()))
            .arg(format!("--tlskey={}", d.join("server-key.pem").display()))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let engine = RemoteEngine {
            dir,
            addr,
            netns,
            host_link,
            dockerd,
            sshd: None,
        };
        let start = Instant::now();
        while !engine.docker_ok(&["info"]) {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the test engine did not start: {}",
                std::fs::read_to_string(engine.dir.path().join("dockerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
        engine
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The engine's data root, as this machine sees it.
    pub fn data_root(&self) -> PathBuf {
        self.path("data")
    }

    /// Bytes free on the data root's filesystem.
    pub fn data_root_free(&self) -> u64 {
        let out = Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(self.data_root())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines().nth(1).unwrap().trim().parse().unwrap()
    }

    /// Take all but `leave` bytes of the data root's free space with a
    /// file (beside the engine's directories, which it leaves alone).
    pub fn fill_data_root(&self, leave: u64) {
        // In pieces, each as large as still fits: a tmpfs may refuse one
        // large allocation that its free space would hold.
        let mut piece = 0;
        let mut chunk: u64 = 256 << 20;
        while chunk >= 4096 {
            let free = self.data_root_free().saturating_sub(leave);
            let size = chunk.min(free);
            if size < 4096 {
                break;
            }
            let file = self.data_root().join(format!("filler-{piece}"));
            let ok = Command::new("fallocate")
                .args(["-l", &size.to_string()])
                .arg(&file)
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                piece += 1;
            } else {
                let _ = std::fs::remove_file(&file);
                chunk /= 2;
            }
        }
    }

    /// Give back what [`RemoteEngine::fill_data_root`] took.
    pub fn free_data_root(&self) {
        for entry in std::fs::read_dir(self.data_root()).unwrap().flatten() {
            if entry.file_name().to_string_lossy().starts_with("filler-") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
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

    fn docker_ok(&self, args: &[&str]) -> bool {
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

    /// What the engine holds: containers, volumes, images and networks
    /// beyond the three every engine has.
    pub fn objects(&self) -> Vec<String> {
        let mut found = Vec::new();
        for (kind, args) in [
            ("container", &["ps", "-a", "--format", "{{.Names}}"][..]),
            ("volume", &["volume", "ls", "--format", "{{.Name}}"][..]),
            (
                "image",
                &["images", "--format", "{{.Repository}}:{{.Tag}}"][..],
            ),
            ("network", &["network", "ls", "--format", "{{.Name}}"][..]),
        ] {
            for line in self.docker(args).lines() {
                if !(kind == "network" && ["bridge", "host", "none"].contains(&line)) {
                    found.push(format!("{kind} {line}"));
                }
            }
        }
        found
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

    /// A Docker CLI configuration directory holding context `name` for the
    /// engine over TLS, as `docker context create` writes it; the
    /// environment selects it (with DOCKER_HOST cleared).
    pub fn context_env(&self, name: &str) -> Vec<(String, String)> {
        use sha2::Digest;
        let config = self.path("docker-config");
        let digest = hex::encode(sha2::Sha256::digest(name.as_bytes()));
        let meta = config.join("contexts/meta").join(&digest);
        let tls = config.join("contexts/tls").join(&digest).join("docker");
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::create_dir_all(&tls).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            format!(
                r#"{{"Name":"{name}","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"tcp://{addr}:{TLS_PORT}","SkipTLSVerify":false}}}}}}"#,
                addr = self.addr
            ),
        )
        .unwrap();
        for f in ["ca.pem", "cert.pem", "key.pem"] {
            std::fs::copy(self.path("client").join(f), tls.join(f)).unwrap();
        }
        vec![
            ("DOCKER_HOST".into(), String::new()),
            ("DOCKER_TLS_VERIFY".into(), String::new()),
            ("DOCKER_CERT_PATH".into(), String::new()),
            ("DOCKER_CONFIG".into(), config.display().to_string()),
            ("DOCKER_CONTEXT".into(), name.into()),
        ]
    }

    /// Start sshd in the namespace (Debian's openssh-server): root logs in
    /// with a key made here, and its sessions' DOCKER_HOST is this engine's
    /// socket, so `docker system dial-stdio` there reaches it.
    pub fn start_sshd(&mut self) {
        let d = self.dir.path();
        for key in ["host_key", "client_key"] {
            let _ = std::fs::remove_file(d.join(key));
            sh(&format!(
                "ssh-keygen -q -t ed25519 -N '' -C test -f {}",
                d.join(key).display()
            ));
        }
        std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).unwrap();
        let host_pub = std::fs::read_to_string(d.join("host_key.pub")).unwrap();
        let mut fields = host_pub.split_whitespace();
        let (kind, key) = (fields.next().unwrap(), fields.next().unwrap());
        let addr = self.addr;
        std::fs::write(d.join("known_hosts"), format!("{addr} {kind} {key}\n")).unwrap();
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "ListenAddress {addr}:22\n\
                 HostKey {dir}/host_key\n\
                 AuthorizedKeysFile {dir}/authorized_keys\n\
                 PermitRootLogin prohibit-password\n\
                 PasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\n\
                 UsePAM no\n\
                 StrictModes no\n\
                 PidFile {dir}/sshd.pid\n\
                 SetEnv DOCKER_HOST=unix://{dir}/docker.sock\n",
                dir = d.display()
            ),
        )
        .unwrap();
        // sshd insists on its privilege separation directory.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let sshd = ["/usr/sbin/sshd", "/sbin/sshd"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect(
                "sshd on this machine (Debian: apt-get install openssh-server; .ci/setup does)",
            );
        let child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.netns))
            .arg(sshd)
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("sshd.log")).unwrap())
            .spawn()
            .unwrap();
        self.sshd = Some(child);
        let start = Instant::now();
        while std::net::TcpStream::connect_timeout(
            &format!("{addr}:22").parse().unwrap(),
            Duration::from_millis(300),
        )
        .is_err()
        {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "sshd did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The ssh options that make the tool's ssh use this test's key and
    /// known hosts only (none of the user's ssh configuration).
    pub fn ssh_options(&self, key: &str) -> String {
        let d = self.dir.path();
        format!(
            "-F /dev/null -i {} -o IdentitiesOnly=yes -o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o BatchMode=yes",
            d.join(key).display(),
            d.join("known_hosts").display()
        )
    }

    /// Environment for the tool: the engine over ssh.
    pub fn ssh_env(&self) -> Vec<(String, String)> {
        vec![
            ("DOCKER_HOST".into(), format!("ssh://root@{}", self.addr)),
            ("DOCKER_TLS_VERIFY".into(), String::new()),
            ("DOCKER_CERT_PATH".into(), String::new()),
            ("DOCKER_CONTEXT".into(), String::new()),
            (
                "K8S_DIND_SSH_OPTIONS".into(),
                self.ssh_options("client_key"),
            ),
        ]
    }
}

/// A CA, a server certificate for `addr` and a client certificate, with
/// the openssl command line; the client's files are laid out as
/// DOCKER_CERT_PATH wants them (`client/{ca,cert,key}.pem`).
fn make_certificates(d: &Path, addr: &str) {
    std::fs::create_dir_all(d.join("client")).unwrap();
    std::fs::write(
        d.join("server.ext"),
        format!("subjectAltName=IP:{addr}\nextendedKeyUsage=serverAuth\n"),
    )
    .unwrap();
    std::fs::write(d.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    sh(&format!(
        "cd {dir}
         openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca.pem -days 2 -subj /CN=test-ca 2>/dev/null
         openssl req -newkey rsa:2048 -nodes -keyout server-key.pem -out server.csr -subj /CN={addr} 2>/dev/null
         openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out server.pem -days 2 -extfile server.ext 2>/dev/null
         openssl req -newkey rsa:2048 -nodes -keyout client/key.pem -out client.csr -subj /CN=client 2>/dev/null
         openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out client/cert.pem -days 2 -extfile client.ext 2>/dev/null
         cp ca.pem client/ca.pem
         mkdir -p other-ca
         openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca/ca-key.pem -out other-ca/ca.pem -days 2 -subj /CN=other 2>/dev/null
         cp client/cert.pem client/key.pem other-ca/",
        dir = d.display()
    ));
}

impl Drop for RemoteEngine {
    fn drop(&mut self) {
        if let Some(mut sshd) = self.sshd.take() {
            let _ = sshd.kill();
            let _ = sshd.wait();
        }
        // SIGTERM lets dockerd stop its containers and unmount their file
        // systems before the data root is removed.
        let _ = Command::new("kill")
            .args(["-TERM", &self.dockerd.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if let Ok(Some(_)) = self.dockerd.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = self.dockerd.kill();
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
