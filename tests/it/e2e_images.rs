//! The Conformance tests' images for real: built offline for v1.37.2, loaded
//! into the Docker engine under throwaway names (`e2eimg-test-*`), and run.
//! Ignored by default; run by .ci/test.

use crate::common;

use std::cell::RefCell;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{shared_cache, text};
use local_cluster::artifacts::cache::Cache;
use local_cluster::e2e::images::{prepare, Archive, Inputs};
use local_cluster::engine::Docker;
use local_cluster::settings::{ImageSourceSetting, KubeVersion};
use local_cluster::ui::Ui;

const LIST: &str = include_str!("../../src/e2e/images/testdata/list-images-v1.37.2.txt");
const E2E: &str = "registry.k8s.io/e2e-test-images";

fn docker_out(args: &[&str]) -> (bool, String) {
    let out = Command::new("docker").args(args).output().unwrap();
    let (stdout, stderr) = text(&out);
    (out.status.success(), format!("{stdout}{stderr}"))
}

fn docker(args: &[&str]) -> String {
    let (ok, out) = docker_out(args);
    assert!(ok, "docker {}: {out}", args.join(" "));
    out
}

/// Removes what the test made in the engine, however it ends.
#[derive(Default)]
struct Cleanup {
    containers: RefCell<Vec<String>>,
    images: RefCell<Vec<String>>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in self.containers.borrow().iter() {
            let _ = docker_out(&["rm", "-f", c]);
        }
        for i in self.images.borrow().iter() {
            let _ = docker_out(&["rmi", "-f", i]);
        }
    }
}

/// `docker load` the archive with its tag replaced by `name` (so nothing in
/// the engine gets a registry.k8s.io name); returns the image id.
fn load_as(archive: &Path, name: &str) -> String {
    let mut child = Command::new("docker")
        .arg("load")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let stdin = child.stdin.take().unwrap();
        let mut out = tar::Builder::new(stdin);
        let mut input = tar::Archive::new(std::fs::File::open(archive).unwrap());
        for entry in input.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().display().to_string();
            let mut header = entry.header().clone();
            if path == "manifest.json" {
                let mut json = String::new();
                std::io::Read::read_to_string(&mut entry, &mut json).unwrap();
                let mut manifest: serde_json::Value = serde_json::from_str(&json).unwrap();
                manifest[0]["RepoTags"] = serde_json::json!([name]);
                let data = serde_json::to_vec(&manifest).unwrap();
                header.set_size(data.len() as u64);
                header.set_cksum();
                out.append(&header, data.as_slice()).unwrap();
            } else {
                out.append(&header, &mut entry).unwrap();
            }
        }
        out.into_inner().unwrap().flush().unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "docker load {}: {stderr}",
        archive.display()
    );
    assert!(stdout.contains(name), "{stdout}");
    docker(&["image", "inspect", "-f", "{{.Id}}", name])
        .trim()
        .to_string()
}

/// Run `script` in a container of `image` until it prints `expect` (the
/// servers need a moment to listen).
fn exec_until(container: &str, script: &str, expect: &str) -> String {
    let mut last = String::new();
    for _ in 0..50 {
        let (ok, out) = docker_out(&["exec", container, "sh", "-c", script]);
        if ok && out.contains(expect) {
            return out;
        }
        last = out;
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{script} in {container} never printed {expect:?}; last: {last}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs root, a Docker engine and minutes; run by .ci/test"]
async fn conformance_images_are_built_offline_and_work() {
    let engine = Docker::connect().await.unwrap();
    let ui = Ui::terminal(1);
    let cache = Cache::new(shared_cache());
    let version: KubeVersion = "v1.37.2".parse().unwrap();
    // As if the node image held kubeadm's etcd but not pause: etcd is
    // skipped, pause is made the way the node image's is.
    let node_images = vec!["registry.k8s.io/etcd:3.7.0-0".to_string()];
    let inputs = Inputs {
        build: local_cluster::images::BuildContext {
            engine: &engine,
            ui: &ui,
            cache: &cache,
            arch: "amd64",
            image_source: ImageSourceSetting::Build,
            debian_mirror: "http://deb.debian.org/debian",
        },
        kubernetes_version: &version,
        node_images: &node_images,
    };
    let wanted: Vec<String> = LIST.lines().map(String::from).collect();
    let start = Instant::now();
    let prepared = prepare(&inputs, &wanted).await.unwrap();
    let first = start.elapsed();
    let start = Instant::now();
    let again = prepare(&inputs, &wanted).await.unwrap();
    let second = start.elapsed();
    eprintln!(
        "prepare: first run {:.1}s, second run {:.1}s",
        first.as_secs_f64(),
        second.as_secs_f64()
    );
    assert_eq!(again, prepared);
    assert!(
        second < Duration::from_secs(20),
        "second run took {second:?}"
    );
    assert_eq!(prepared.archives.len(), 12, "{:#?}", prepared.archives);
    assert!(prepared.skipped.contains(&(
        "registry.k8s.io/etcd:3.7.0-0".into(),
        "in the node image".into()
    )));

    let cleanup = Cleanup::default();
    let archive = |reference: &str| -> &Archive {
        prepared
            .archives
            .iter()
            .find(|a| a.references == [reference])
            .unwrap_or_else(|| panic!("no archive for {reference}"))
    };
    let load = |reference: &str| -> (String, String) {
        let (repository, tag) = reference.rsplit_once(':').unwrap();
        let short = repository.rsplit('/').next().unwrap();
        let name = format!("e2eimg-test-{short}:{tag}");
        cleanup.images.borrow_mut().push(name.clone());
        let id = load_as(&archive(reference).path, &name);
        (name, id)
    };
    let (agnhost, agnhost_id) = load(&format!("{E2E}/agnhost:2.66.1"));
    let (agnhost_prev, agnhost_prev_id) = load(&format!("{E2E}/agnhost:2.55"));
    let (busybox, _) = load(&format!("{E2E}/busybox:1.37.0-2"));
    let (nginx, _) = load(&format!("{E2E}/nginx:1.28.0-2"));
    let (dns, _) = load(&format!("{E2E}/glibc-dns-testing:2.1.1"));
    let (nnp, _) = load(&format!("{E2E}/nonewprivs:1.4"));
    let (kitten, _) = load(&format!("{E2E}/kitten:1.8"));
    let (nautilus, _) = load(&format!("{E2E}/nautilus:1.8"));
    let (apiserver, _) = load(&format!("{E2E}/sample-apiserver:1.29.2"));
    let (pause, _) = load("registry.k8s.io/pause:3.10.2");
    let container = |name: &str| {
        let name = format!("e2eimg-test-{name}");
        let _ = docker_out(&["rm", "-f", &name]);
        cleanup.containers.borrow_mut().push(name.clone());
        name
    };

    // agnhost: two tags, two images, each saying its version.
    assert_ne!(agnhost_id, agnhost_prev_id);
    let run = |image: &str, args: &[&str]| -> String {
        let mut all = vec!["run", "--rm", image];
        all.extend_from_slice(args);
        docker(&all)
    };
    assert!(run(&agnhost, &["--version"]).contains("2.66.1"));
    assert!(run(&agnhost_prev, &["--version"]).contains("2.55"));
    // netexec answers on loopback; the tools the tests run in agnhost pods
    // start (their libraries are all there).
    let c = container("agnhost");
    docker(&[
        "run",
        "-d",
        "--name",
        &c,
        &agnhost,
        "netexec",
        "--http-port=8080",
    ]);
    let hostname = docker(&["exec", &c, "hostname"]);
    exec_until(
        &c,
        "curl -s http://127.0.0.1:8080/hostname",
        hostname.trim(),
    );
    exec_until(&c, "wget -qO- http://127.0.0.1:8080/echo?msg=hi", "hi");
    let tools = docker(&[
        "exec",
        &c,
        "sh",
        "-c",
        "set -e; test -e /agnhost-2; test -d /uploads; test -f /localhost.crt; \
         dig -v 2>&1; getent hosts localhost; curl --version | head -1; wget --version | head -1; \
         nc -h 2>&1 | head -1; ip -V; ss -V; socat -V | head -2; iperf -v 2>&1; bash --version | head -1; \
         seq 1 2; ps; mount | head -1; hostname; nslookup -version 2>&1 | head -1; id user-defined-in-image",
    ]);
    assert!(tools.contains("DiG 9."), "{tools}");
    assert!(tools.contains("50000(group-defined-in-image)"), "{tools}");
    assert!(run(&agnhost, &["--help"]).contains("netexec"));

    // busybox, behaving as upstream's: the shell passes on variables whose
    // names are not identifiers (ConfigMap and Secret tests), and words a
    // failed redirection as busybox does (the read-only root filesystem test).
    assert_eq!(run(&busybox, &["sh", "-c", "echo ok"]).trim(), "ok");
    assert!(run(&busybox, &["wget", "--help"]).contains("post-data"));
    assert!(run(&busybox, &["/bin/sysctl", "kernel.hostname"]).starts_with("kernel.hostname = "));
    let env = docker(&[
        "run",
        "--rm",
        "-e",
        "data-1=value-1",
        &busybox,
        "sh",
        "-c",
        "env",
    ]);
    assert!(env.lines().any(|l| l == "data-1=value-1"), "{env}");
    let (ok, out) = docker_out(&[
        "run",
        "--rm",
        "--read-only",
        &busybox,
        "/bin/sh",
        "-c",
        "echo test > /file",
    ]);
    assert!(!ok);
    assert_eq!(out, "/bin/sh: can't create /file: Read-only file system\n");

    // nginx on :80
    let c = container("nginx");
    docker(&["run", "-d", "--name", &c, &nginx]);
    exec_until(&c, "wget -qO- http://127.0.0.1:80/", "Welcome to nginx");

    // the DNS test image: dig, getent, sh
    let out = run(
        &dns,
        &[
            "sh",
            "-c",
            "command -v dig && command -v getent && dig -v 2>&1 && getent hosts localhost",
        ],
    );
    assert!(
        out.contains("/dig") && out.contains("/getent") && out.contains("DiG"),
        "{out}"
    );

    // nonewprivs: setuid root, and what the Conformance test sees.
    assert_eq!(
        run(&nnp, &["stat", "-c", "%a %u", "/usr/local/bin/nnp"]).trim(),
        "4755 0"
    );
    let out = docker(&["run", "--rm", "--user", "1000", &nnp]);
    assert!(out.contains("Effective uid: 0"), "{out}");
    let out = docker(&[
        "run",
        "--rm",
        "--user",
        "1000",
        "--security-opt",
        "no-new-privileges",
        &nnp,
    ]);
    assert!(out.contains("Effective uid: 1000"), "{out}");

    // kitten and nautilus: their files, served by agnhost's test-webserver.
    let out = run(&kitten, &["--help"]);
    assert!(out.contains("test-webserver"), "{out}");
    let out = docker(&[
        "run",
        "--rm",
        "--entrypoint",
        "cat",
        &kitten,
        "/data.json",
        "/etc/os-release",
    ]);
    assert!(
        out.contains("kitten.jpg") && out.contains("Alpine Linux"),
        "{out}"
    );
    let c = container("nautilus");
    docker(&["run", "-d", "--name", &c, &nautilus]);
    exec_until(&c, "curl -s http://127.0.0.1:80/data.json", "nautilus.jpg");

    // sample-apiserver starts and knows its flags.
    let out = run(&apiserver, &["--help"]);
    assert!(out.contains("--etcd-servers"), "{out}");

    // pause, made like the node image's
    let c = container("pause");
    docker(&["run", "-d", "--name", &c, &pause]);
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Running}}", &c]).trim(),
        "true"
    );
}
