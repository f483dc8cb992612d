//! A cluster made through the real binary for the integration tests.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use super::{bin, text};

/// A named cluster with its own subnet, built from local sources; removed
/// (with `clean`) when dropped.
pub struct Cluster {
    pub name: String,
    pub subnet: String,
    pub extra: Vec<(String, String)>,
    /// Sources and addons as a user without settings has them (see
    /// [`Cluster::with_defaults`]).
    pub defaults: Option<OfflineTrap>,
}

/// HTTPS from the tool goes to a loopback port nothing listens on, except
/// to the Go module proxy (which the Go builds need): the release site and
/// the registries `auto` asks are then unreachable, as on a machine that
/// reaches only Debian and the Go proxy, and no test traffic leaves.
pub struct OfflineTrap {
    proxy: String,
}

impl OfflineTrap {
    pub fn new() -> OfflineTrap {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        OfflineTrap {
            proxy: format!("http://127.0.0.1:{port}"),
        }
    }

    pub fn apply(&self, cmd: &mut Command) {
        for var in ["HTTPS_PROXY", "https_proxy"] {
            cmd.env(var, &self.proxy);
        }
        for var in ["NO_PROXY", "no_proxy"] {
            cmd.env(var, "proxy.golang.org,sum.golang.org,localhost,127.0.0.1");
        }
    }
}

impl Default for OfflineTrap {
    fn default() -> Self {
        OfflineTrap::new()
    }
}

impl Cluster {
    pub fn new(name: &str, subnet: &str) -> Cluster {
        Cluster::made(name, subnet, None)
    }

    /// A cluster with no source or addon settings, behind an
    /// [`OfflineTrap`].
    pub fn with_defaults(name: &str, subnet: &str) -> Cluster {
        Cluster::made(name, subnet, Some(OfflineTrap::new()))
    }

    /// A cluster whose commands all get `extra` in their environment, its
    /// first `clean` included (for one on a test engine: this machine's
    /// engine is then never asked).
    pub fn with_env(name: &str, subnet: &str, extra: Vec<(String, String)>) -> Cluster {
        Cluster::made_with(name, subnet, None, extra)
    }

    fn made(name: &str, subnet: &str, defaults: Option<OfflineTrap>) -> Cluster {
        Cluster::made_with(name, subnet, defaults, Vec::new())
    }

    fn made_with(
        name: &str,
        subnet: &str,
        defaults: Option<OfflineTrap>,
        extra: Vec<(String, String)>,
    ) -> Cluster {
        let c = Cluster {
            name: name.to_string(),
            subnet: subnet.to_string(),
            extra,
            defaults,
        };
        // A previous, interrupted run may have left it behind.
        c.run(&["clean"]);
        c
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .env("K8S_DIND_CLUSTER_NAME", &self.name)
            .env("K8S_DIND_DIND_SUBNET", &self.subnet)
            .env_remove("LOCAL_CLUSTER_CONF");
        match &self.defaults {
            Some(trap) => {
                for var in [
                    "K8S_DIND_KUBERNETES_SOURCE",
                    "K8S_DIND_IMAGE_SOURCE",
                    "K8S_DIND_ADDONS",
                ] {
                    cmd.env_remove(var);
                }
                trap.apply(&mut cmd);
            }
            None => {
                cmd.env("K8S_DIND_KUBERNETES_SOURCE", "go-module")
                    .env("K8S_DIND_IMAGE_SOURCE", "build")
                    .env("K8S_DIND_ADDONS", "");
            }
        }
        for (k, v) in &self.extra {
            cmd.env(k, v);
        }
        cmd
    }

    /// Run the tool; returns (stdout, stderr), shown as the test goes.
    pub fn run(&self, args: &[&str]) -> (String, String) {
        let start = Instant::now();
        let out = self.command(args).output().unwrap();
        let (stdout, stderr) = text(&out);
        eprintln!(
            "--- local-cluster {} ({}: {:.1}s)\n{stderr}{stdout}",
            args.join(" "),
            self.name,
            start.elapsed().as_secs_f64()
        );
        assert!(
            out.status.success(),
            "local-cluster {} failed",
            args.join(" ")
        );
        (stdout, stderr)
    }

    /// `status`: what it prints and its exit status (0 running and well,
    /// 3 not running, 4 unfinished or broken).
    pub fn status(&self) -> (String, i32) {
        let out = self.command(&["status"]).output().unwrap();
        let (stdout, stderr) = text(&out);
        eprintln!("--- local-cluster status ({})\n{stderr}{stdout}", self.name);
        let code = out.status.code().unwrap_or(-1);
        assert!([0, 3, 4, 5].contains(&code), "status failed ({code})");
        (stdout, code)
    }

    pub fn home(&self) -> PathBuf {
        dirs::home_dir()
            .unwrap()
            .join(".kubeadm-local-cluster/clusters")
            .join(&self.name)
    }

    /// The host kubectl the tool exported, with its admin.conf.
    pub fn kubectl_output(&self, args: &[&str]) -> Output {
        Command::new(self.home().join("kubectl"))
            .env("KUBECONFIG", self.home().join("admin.conf"))
            .args(args)
            .output()
            .unwrap()
    }

    pub fn kubectl(&self, args: &[&str]) -> String {
        let out = self.kubectl_output(args);
        let (stdout, stderr) = text(&out);
        assert!(
            out.status.success(),
            "kubectl {}: {stdout}{stderr}",
            args.join(" ")
        );
        stdout
    }

    /// Wait until pod `name` has ended with success; panics with its state
    /// on failure or after `within`.
    pub fn wait_succeeded(&self, name: &str, within: Duration) {
        let start = Instant::now();
        loop {
            let phase = self.kubectl(&["get", "pod", name, "-o", "jsonpath={.status.phase}"]);
            match phase.trim() {
                "Succeeded" => return,
                "Failed" => panic!(
                    "pod {name} failed: {}",
                    self.kubectl(&["describe", "pod", name])
                ),
                _ if start.elapsed() > within => panic!(
                    "pod {name} is {phase:?} after {within:?}: {}\n{}",
                    self.kubectl(&["describe", "pod", name]),
                    self.kubectl(&["get", "pods", "-A", "-o", "wide"])
                ),
                _ => std::thread::sleep(Duration::from_secs(1)),
            }
        }
    }

    /// Run a pod of `image` (pulled as `pull`: Always, Never, ...) that
    /// prints `word`, wait up to two minutes for it to succeed, delete it;
    /// its log.
    pub fn pod_prints(&self, pod: &str, image: &str, pull: &str, word: &str) -> String {
        self.apply(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {pod}}}\nspec:\n  restartPolicy: Never\n  \
             containers:\n  - {{name: c, image: \"{image}\", imagePullPolicy: {pull}, \
             command: [/bin/busybox, echo, \"{word}\"]}}\n"
        ));
        self.wait_succeeded(pod, Duration::from_secs(120));
        let log = self.kubectl(&["logs", pod]);
        self.kubectl(&["delete", "pod", pod, "--wait=false"]);
        log.trim().to_string()
    }

    pub fn apply(&self, manifest: &str) {
        let mut child = Command::new(self.home().join("kubectl"))
            .env("KUBECONFIG", self.home().join("admin.conf"))
            .args(["apply", "-f", "-"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(manifest.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success(), "kubectl apply failed");
    }

    /// `kubectl exec <pod> -- <cmd>`, retried for up to `within` until it
    /// succeeds and its output contains `want`.
    pub fn exec_until(&self, pod: &str, cmd: &[&str], want: &str, within: Duration) -> String {
        let start = Instant::now();
        let mut args = vec!["exec", pod, "--"];
        args.extend_from_slice(cmd);
        loop {
            let out = self.kubectl_output(&args);
            let (stdout, stderr) = text(&out);
            let all = format!("{stdout}{stderr}");
            if out.status.success() && all.contains(want) {
                return all;
            }
            if start.elapsed() > within {
                panic!(
                    "`{}` in {pod} never gave {want:?}; last: {all}",
                    cmd.join(" ")
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    pub fn nodes_ready(&self) -> Vec<(String, bool)> {
        self.kubectl(&["get", "nodes", "--no-headers"])
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f[0].to_string(), f[1] == "Ready")
            })
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.command(&["clean"]).output();
    }
}

/// A pod on the master (of `image`) that must outlive repairs of the
/// workers and restarts of the engine.
pub const STAYER: &str = r#"apiVersion: v1
kind: Pod
metadata: {name: stayer}
spec:
  nodeName: kube-master
  tolerations: [{operator: Exists}]
  containers:
  - name: c
    image: IMAGE
    imagePullPolicy: Never
    command: [sh, -c, 'sleep 100000']
"#;

/// The stayer pod's uid, restart count and start time.
pub fn stayer(c: &Cluster) -> String {
    c.kubectl(&[
        "get",
        "pod",
        "stayer",
        "-o",
        "jsonpath={.metadata.uid} {.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].state.running.startedAt}",
    ])
}

/// Wait (up to 2 minutes) for the stayer pod to run; returns [`stayer`].
pub fn wait_stayer_running(c: &Cluster) -> String {
    let start = Instant::now();
    loop {
        let out = c.kubectl_output(&["get", "pod", "stayer", "-o", "jsonpath={.status.phase}"]);
        if text(&out).0 == "Running" {
            return stayer(c);
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "stayer not Running"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}
