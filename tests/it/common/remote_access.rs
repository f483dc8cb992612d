//! How else the tests reach a test engine (tests/it/common/remote.rs): a
//! Docker CLI context naming it, and ssh to an sshd in its namespace; and
//! the certificates its TLS port and clients use.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::remote::{sh, RemoteEngine, TLS_PORT};

impl RemoteEngine {
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
pub(super) fn make_certificates(d: &Path, addr: &str) {
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
