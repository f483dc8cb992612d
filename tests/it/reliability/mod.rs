//! Concurrent, interrupted and faulty runs against the real engine: two
//! commands on one cluster, Ctrl-C and SIGTERM at steps of `up`, `down`,
//! `clean` and `build node-image`, a holder killed with SIGKILL, and with
//! the cluster running a killed node and a stopped kubelet. After each,
//! `status` tells and `up` (or `clean`) completes. (Engine restarts are in
//! tests/it/engine.rs, on an engine of their own.)
//!
//! `core_lock_interruption_and_killed_node` is the short part run with
//! every change; `interruptions_and_faults`, [`master`] (the master killed,
//! its kubelet stopped) and [`interrupted`] (stops where they hurt most:
//! saving a snapshot, kubeadm join, a Go build) and [`certificates`] (a
//! snapshot restored after its certificates expired) the rest. Each makes its
//! own cluster, under its own name.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use common::cluster::{stayer, wait_stayer_running, Cluster, STAYER};
use common::{docker, engine_objects, ensure_busybox_image, BUSYBOX};

mod certificates;
mod interrupted;
mod master;

/// A command running in the background, its stderr in a file to watch.
struct Running {
    child: Child,
    stderr: PathBuf,
    what: String,
    _dir: tempfile::TempDir,
}

fn spawn(c: &Cluster, args: &[&str]) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let stderr = dir.path().join("stderr");
    let child = c
        .command(args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    Running {
        child,
        stderr,
        what: args.join(" "),
        _dir: dir,
    }
}

impl Running {
    fn said(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Wait until stderr holds `text`; panics when the command ends first.
    fn wait_for(&mut self, text: &str, within: Duration) {
        let start = Instant::now();
        while !self.said().contains(text) {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "`{}` ended ({status}) before saying {text:?}:\n{}",
                    self.what,
                    self.said()
                );
            }
            assert!(
                start.elapsed() < within,
                "`{}` did not say {text:?} within {within:?}:\n{}",
                self.what,
                self.said()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
    }

    /// Wait for the end; returns the exit code and what it said.
    fn finish(mut self, within: Duration) -> (Option<i32>, String) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let said = self.said();
                eprintln!("--- local-cluster {} ({status})\n{said}", self.what);
                return (status.code(), said);
            }
            if start.elapsed() > within {
                let _ = self.child.kill();
                panic!(
                    "`{}` did not end within {within:?}:\n{}",
                    self.what,
                    self.said()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Stop `args` with `signal` once it says `at`: it must end within seconds,
/// with the signal's exit code, saying what it left.
fn interrupt(c: &Cluster, args: &[&str], at: &str, signal: Signal) -> String {
    interrupt_after(c, args, at, Duration::ZERO, signal)
}

/// [`interrupt`], `delay` after it says `at`.
fn interrupt_after(
    c: &Cluster,
    args: &[&str],
    at: &str,
    delay: Duration,
    signal: Signal,
) -> String {
    let mut running = spawn(c, args);
    running.wait_for(at, Duration::from_secs(600));
    std::thread::sleep(delay);
    let sent = Instant::now();
    running.signal(signal);
    let (code, said) = running.finish(Duration::from_secs(20));
    let name = if signal == Signal::SIGINT {
        "SIGINT"
    } else {
        "SIGTERM"
    };
    assert_eq!(
        code,
        Some(128 + signal as i32),
        "{} stopped at {at:?}: {said}",
        args.join(" ")
    );
    assert!(said.contains(&format!("stopped by {name}: ")), "{said}");
    assert!(!said.contains("panicked"), "{said}");
    eprintln!(
        "stopped {} at {at:?} with {name} in {:.1}s",
        args.join(" "),
        sent.elapsed().as_secs_f64()
    );
    said
}

/// `down` signalled as soon as it starts removing: it takes well under a
/// second, so it may finish first. Either way it must end cleanly: stopped
/// by the signal (130) or done (0), never panicking or half-failed.
fn interrupt_down(c: &Cluster) {
    let mut running = spawn(c, &["down"]);
    running.wait_for("• Removing", Duration::from_secs(120));
    running.signal(Signal::SIGINT);
    let (code, said) = running.finish(Duration::from_secs(20));
    match code {
        Some(130) => assert!(said.contains("stopped by SIGINT: "), "{said}"),
        Some(0) => {}
        other => panic!("down stopped by SIGINT exited {other:?}: {said}"),
    }
    assert!(!said.contains("panicked"), "{said}");
    eprintln!(
        "down signalled while removing: {}",
        if code == Some(0) {
            "it had finished"
        } else {
            "stopped"
        }
    );
}

fn lock_file(home: &Path, name: &str) -> Option<PathBuf> {
    std::fs::read_dir(home.join("locks"))
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{name}@")))
        })
}

/// Wait until a command holds the cluster's lock (its file names a holder).
fn wait_until_locked(home: &Path, name: &str) {
    let start = Instant::now();
    loop {
        if let Some(path) = lock_file(home, name) {
            if !std::fs::read_to_string(&path)
                .unwrap_or_default()
                .is_empty()
            {
                return;
            }
        }
        assert!(start.elapsed() < Duration::from_secs(60), "never locked");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A restore (`up` of a cluster that is down) stopped by `signal` at step
/// `at` says what it left and how to go on; `up` then finishes it.
fn stopped_restore_is_finished_by_up(c: &Cluster, at: &str, signal: Signal) {
    let name = &c.name;
    let said = interrupt(c, &["up"], at, signal);
    assert!(
        said.contains(&format!(
            "may be half made or half restored; `local-cluster up --cluster-name {name}` finishes it"
        )),
        "{said}"
    );
    eprintln!("status after the stop:\n{}", status(c));
    let (_, said) = c.run(&["up"]);
    assert!(said.contains("is up"), "{said}");
    let (shown, code) = c.status();
    assert!(
        shown.starts_with(&format!("cluster {name}: running\n")),
        "{shown}"
    );
    assert_eq!(code, 0, "{shown}");
}

fn status(c: &Cluster) -> String {
    c.status().0
}

fn container_id(name: &str) -> String {
    docker(&["inspect", "-f", "{{.Id}}", name])
        .trim()
        .to_string()
}

/// A cluster of a master and one worker.
fn cluster(name: &str, subnet: &str) -> Cluster {
    let mut c = Cluster::new(name, subnet);
    c.extra
        .push(("K8S_DIND_NUM_NODES".to_string(), "1".to_string()));
    c
}

/// Two `up`s at once (one waits for the other), `--no-wait` refused, one
/// restore interrupted with Ctrl-C and finished by `up`, and a killed
/// worker repaired with the master and its pod kept.
#[test]
#[ignore = "needs root, a Docker engine and several minutes; run by .ci/test"]
fn core_lock_interruption_and_killed_node() {
    const NAME: &str = "it-rel";
    const MASTER: &str = "it-rel-kube-master";
    const WORKER: &str = "it-rel-kube-node-1";
    ensure_busybox_image();
    let c = cluster(NAME, "10.236.0.0/24");
    let home = dirs::home_dir().unwrap().join(".kubeadm-local-cluster");

    // Two `up`s at once: one makes the cluster, the other waits for it,
    // saying who holds it, and then finds it running.
    let first = spawn(&c, &["up"]);
    let second = spawn(&c, &["up"]);
    let (a, said_a) = first.finish(Duration::from_secs(900));
    let (b, said_b) = second.finish(Duration::from_secs(900));
    assert_eq!((a, b), (Some(0), Some(0)), "{said_a}\n{said_b}");
    let (waited, made) = if said_a.contains("is busy") {
        (said_a, said_b)
    } else {
        (said_b, said_a)
    };
    assert!(
        waited.contains("is busy: `local-cluster up` (pid ")
            && waited.contains("waiting for it to finish"),
        "{waited}"
    );
    assert!(waited.contains("already running"), "{waited}");
    assert!(!made.contains("is busy"), "{made}");

    // With --no-wait a busy cluster is refused at once.
    let down = spawn(&c, &["down"]);
    wait_until_locked(&home, NAME);
    let refused = c.command(&["up", "--no-wait"]).output().unwrap();
    let (_, stderr) = common::text(&refused);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("is busy: `local-cluster down` (pid ")
            && stderr.contains("not waiting for it (noWait from flag --no-wait)"),
        "{stderr}"
    );
    assert_eq!(down.finish(Duration::from_secs(120)).0, Some(0));

    // A restore stopped with Ctrl-C as it starts the nodes; `up` finishes it.
    stopped_restore_is_finished_by_up(&c, "• Starting 2 node containers", Signal::SIGINT);

    // A pod on the master must live on through the repair.
    c.run(&["load", BUSYBOX]);
    c.apply(&STAYER.replace("IMAGE", BUSYBOX));
    let before = wait_stayer_running(&c);

    // A node container killed: status tells, up replaces only that node.
    let master_id = container_id(MASTER);
    docker(&["kill", WORKER]);
    let shown = status(&c);
    assert!(
        shown.contains(
            "cluster it-rel: broken nodes; `local-cluster up --cluster-name it-rel` repairs them"
        ) && shown.contains("  kube-node-1: stopped ("),
        "{shown}"
    );
    let (_, said) = c.run(&["up"]);
    assert!(said.contains("repaired"), "{said}");
    assert_eq!(container_id(MASTER), master_id, "the master was kept");
    assert_eq!(stayer(&c), before, "the pod on the master kept running");
    assert!(c.nodes_ready().iter().all(|(_, ready)| *ready));

    c.run(&["clean"]);
    assert_eq!(engine_objects(NAME), Vec::<String>::new());
}

/// Everything else: a restore stopped with SIGTERM, a holder killed with
/// SIGKILL, `down` stopped, a kubelet stopped, a node image build stopped,
/// a cold `up` stopped and `clean` stopped.
#[test]
#[ignore = "needs root, a Docker engine and several minutes; run by .ci/test"]
fn interruptions_and_faults() {
    const NAME: &str = "it-relf";
    const WORKER: &str = "it-relf-kube-node-1";
    const MASTER: &str = "it-relf-kube-master";
    ensure_busybox_image();
    let c = cluster(NAME, "10.235.0.0/24");
    let (_, said) = c.run(&["up"]);
    assert!(said.contains("created"), "{said}");
    c.run(&["down"]);

    // A restore stopped while it waits for the nodes; `up` then finishes it.
    stopped_restore_is_finished_by_up(&c, "• Waiting for nodes", Signal::SIGTERM);
    c.run(&["down"]);

    // A holder killed outright: its lock is taken over, saying so.
    let mut killed = spawn(&c, &["up"]);
    killed.wait_for("• Starting 2 node containers", Duration::from_secs(300));
    killed.signal(Signal::SIGKILL);
    killed.finish(Duration::from_secs(10));
    let (_, said) = c.run(&["up"]);
    assert!(
        said.contains("`local-cluster up` (pid ") && said.contains("was killed before it finished"),
        "{said}"
    );
    assert!(status(&c).starts_with("cluster it-relf: running\n"));

    // `down` stopped midway: `up` repairs or restores, `down` again ends it.
    interrupt_down(&c);
    eprintln!("status after the stopped down:\n{}", status(&c));
    c.run(&["up"]);
    assert!(status(&c).starts_with("cluster it-relf: running\n"));

    // Faults with the cluster running. A pod on the master must live on.
    c.run(&["load", BUSYBOX]);
    c.apply(&STAYER.replace("IMAGE", BUSYBOX));
    let before = wait_stayer_running(&c);

    // A kubelet stopped: status tells, up starts it, the node stays.
    let worker_id = container_id(WORKER);
    docker(&["exec", WORKER, "systemctl", "stop", "kubelet"]);
    let shown = status(&c);
    assert!(
        shown.contains("  kube-node-1: running; not active: kubelet inactive"),
        "{shown}"
    );
    let (_, said) = c.run(&["up"]);
    assert!(
        said.contains("Starting containerd and kubelet again on kube-node-1"),
        "{said}"
    );
    assert_eq!(container_id(WORKER), worker_id, "the worker was kept");
    assert_eq!(stayer(&c), before);

    // Paused: every node frozen, status says so (exit 5); unpause resumes
    // them with the pod as it was, and it answers an exec.
    let (_, said) = c.run(&["pause"]);
    assert!(said.contains("is paused"), "{said}");
    for node in [MASTER, WORKER] {
        assert_eq!(
            docker(&["inspect", "-f", "{{.State.Paused}}", node]).trim(),
            "true"
        );
    }
    let (shown, code) = c.status();
    assert!(shown.starts_with("cluster it-relf: paused;"), "{shown}");
    assert_eq!(code, 5, "{shown}");
    std::thread::sleep(Duration::from_secs(45));
    let (_, said) = c.run(&["unpause"]);
    assert!(said.contains("is running again"), "{said}");
    assert!(status(&c).starts_with("cluster it-relf: running\n"));
    assert_eq!(stayer(&c), before);
    assert_eq!(
        c.kubectl(&["exec", "stayer", "--", "echo", "alive"]).trim(),
        "alive"
    );

    // A forced node image build stopped while its build container runs: the
    // image stays as it was, and the container goes with the command.
    let image = "kubeadm-local-cluster/node:v1.37.2-amd64";
    let image_id = docker(&["image", "inspect", "-f", "{{.Id}}", image]);
    let said = interrupt(
        &c,
        &["build", "node-image", "--force"],
        "• Copying Kubernetes binaries",
        Signal::SIGINT,
    );
    assert!(said.contains("nothing half built is kept"), "{said}");
    assert!(!said.contains("could not remove"), "{said}");
    assert_eq!(
        docker(&["image", "inspect", "-f", "{{.Id}}", image]),
        image_id
    );
    let builders = common::node_image_builders();
    assert!(
        builders.is_empty(),
        "build container left: {builders:?}\n{said}"
    );

    // A cold `up` stopped during kubeadm init: the next makes it anew.
    c.run(&["clean"]);
    interrupt(
        &c,
        &["up"],
        "• Initializing the control plane",
        Signal::SIGTERM,
    );
    let shown = status(&c);
    assert!(
        shown.starts_with("cluster it-relf: not finished"),
        "{shown}"
    );
    let (_, said) = c.run(&["up"]);
    assert!(said.contains("created"), "{said}");

    // `clean` stopped midway; `clean` again leaves nothing.
    interrupt(&c, &["clean"], "• Removing cluster", Signal::SIGINT);
    c.run(&["clean"]);
    assert_eq!(engine_objects(NAME), Vec::<String>::new());
}
