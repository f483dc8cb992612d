//! Clusters on a remote Docker engine: a second dockerd in its own network
//! namespace (tests/it/common/remote.rs), reached over TLS, through a Docker
//! context and over ssh, never through this machine's socket.
//!
//! Needs root (namespaces, a second dockerd), openssl and openssh-server
//! (.ci/setup installs them); ignored by default, run by .ci/test.

use crate::common;

use std::process::Command;

use common::cluster::Cluster;
use common::remote::{RemoteEngine, ADDR};
use common::test_engine::TestEngine;
use common::{docker, ensure_busybox_image, BUSYBOX};
use local_cluster::labels::{LABEL_CLUSTER, LABEL_REGISTRY};

/// What the local engine holds of the cluster `name` (objects named after
/// it or labelled with it), to show the tool made nothing of it there.
/// Only these: other tiers may make clusters on the local engine meanwhile.
fn local_objects(name: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (kind, list, field) in [
        ("container", &["ps", "-a"][..], "{{.Names}}"),
        ("volume", &["volume", "ls"][..], "{{.Name}}"),
        ("network", &["network", "ls"][..], "{{.Name}}"),
        ("image", &["images"][..], "{{.ID}} {{.Repository}}:{{.Tag}}"),
    ] {
        let format = format!("{kind} {field}");
        let mut args = list.to_vec();
        args.extend(["--format", &format]);
        let named = docker(&args);
        found.extend(
            named
                .lines()
                .filter(|l| l.split(' ').nth(1).is_some_and(|n| n.starts_with(name)))
                .map(str::to_string),
        );
        for label in [LABEL_CLUSTER, LABEL_REGISTRY] {
            let filter = format!("label={label}={name}");
            let mut args = list.to_vec();
            args.extend(["--filter", &filter, "--format", &format]);
            found.extend(docker(&args).lines().map(str::to_string));
        }
    }
    found.sort();
    found.dedup();
    found
}

fn with_env(cluster: &mut Cluster, env: Vec<(String, String)>) {
    cluster
        .extra
        .retain(|(k, _)| !env.iter().any(|(e, _)| e == k));
    cluster.extra.extend(env);
}

/// A pod of the busybox image, which only `load` can have put in the nodes.
fn run_loaded_pod(cluster: &Cluster) {
    cluster.apply(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: loaded}}\nspec:\n  containers:\n  - name: c\n    image: {BUSYBOX}\n    imagePullPolicy: Never\n    command: [sleep, '3600']\n"
    ));
    cluster.kubectl(&[
        "wait",
        "--for=condition=Ready",
        "pod/loaded",
        "--timeout=120s",
    ]);
}

fn assert_nodes_ready(cluster: &Cluster) {
    let nodes = cluster.nodes_ready();
    assert_eq!(nodes.len(), 3, "{nodes:?}");
    assert!(nodes.iter().all(|(_, ready)| *ready), "{nodes:?}");
}

#[test]
#[ignore = "starts a second dockerd in a network namespace; run by .ci/test"]
fn a_cluster_on_a_remote_engine_over_tls_a_context_and_ssh() {
    ensure_busybox_image();
    let mut remote = RemoteEngine::start();
    let local_before = local_objects("remote");
    let mut cluster = Cluster::new("remote", "10.231.0.0/16");

    // Over TLS: the node image is made here and sent; the API server is
    // published on the remote address, which admin.conf names.
    with_env(&mut cluster, remote.tls_env());
    let (_, said) = cluster.run(&["up"]);
    assert!(said.contains("created"), "{said}");
    let admin = std::fs::read_to_string(cluster.home().join("admin.conf")).unwrap();
    assert!(
        admin.contains(&format!("server: https://{ADDR}:")),
        "admin.conf does not name the remote address:\n{admin}"
    );
    assert_nodes_ready(&cluster);
    let published = remote.docker(&["ps", "--format", "{{.Ports}}"]);
    assert!(
        published.contains(&format!("{ADDR}:")) && !published.contains("0.0.0.0"),
        "the API server must be published on the remote address only: {published}"
    );
    // The busybox image is only in the local engine: load takes it from there.
    assert!(!remote
        .docker(&["images"])
        .contains(BUSYBOX.split(':').next().unwrap()));
    let (_, err) = cluster.run(&["load", BUSYBOX]);
    assert!(err.contains("taken from the local Docker engine"), "{err}");
    run_loaded_pod(&cluster);
    cluster.run(&["down"]);
    let (_, said) = cluster.run(&["up"]);
    assert!(said.contains("restored"), "{said}");
    assert_nodes_ready(&cluster);

    // Through a Docker context naming the same engine.
    with_env(&mut cluster, remote.context_env("lc-test"));
    let (out, _) = cluster.run(&["status"]);
    assert!(
        out.contains("context \"lc-test\"") && out.contains(&format!("ports published on {ADDR}")),
        "{out}"
    );
    cluster.run(&["down"]);
    let (_, said) = cluster.run(&["up"]);
    assert!(said.contains("restored"), "{said}");
    assert_nodes_ready(&cluster);

    // Over ssh to an sshd in the namespace, and a load from an archive.
    remote.start_sshd();
    with_env(&mut cluster, remote.ssh_env());
    let (out, _) = cluster.run(&["status"]);
    assert!(out.contains(&format!("ssh://root@{ADDR}")), "{out}");
    cluster.run(&["down"]);
    let (_, said) = cluster.run(&["up"]);
    assert!(said.contains("restored"), "{said}");
    assert_nodes_ready(&cluster);
    // The nodes keep loaded images in /var across down + up: remove them so
    // the pod can only run from what the archive brings.
    cluster.kubectl(&[
        "delete",
        "pod",
        "loaded",
        "--ignore-not-found",
        "--wait=true",
    ]);
    for node in ["kube-master", "kube-node-1", "kube-node-2"] {
        let container = format!("remote-{node}");
        remote.docker(&[
            "exec",
            &container,
            "ctr",
            "-n",
            "k8s.io",
            "images",
            "rm",
            &format!("docker.io/{BUSYBOX}"),
        ]);
    }
    let archive = remote.dir.path().join("busybox.tar");
    docker(&["save", "-o", archive.to_str().unwrap(), BUSYBOX]);
    cluster.run(&["load", "--archive", archive.to_str().unwrap()]);
    run_loaded_pod(&cluster);
    // The registry on the remote engine: published on its loopback, pushed
    // to through that engine, pulled from by the nodes.
    let (stdout, _) = cluster.run(&["registry"]);
    let registry = stdout.trim().to_string();
    let (stdout, _) = cluster.run(&["push", "--archive", archive.to_str().unwrap()]);
    let pushed = format!("{registry}/{BUSYBOX}");
    assert_eq!(stdout.trim(), pushed);
    cluster.apply(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: pulled}}\nspec:\n  containers:\n  - name: c\n    image: {pushed}\n    imagePullPolicy: Always\n    command: [sleep, '3600']\n"
    ));
    cluster.kubectl(&[
        "wait",
        "--for=condition=Ready",
        "pod/pulled",
        "--timeout=120s",
    ]);

    // A conformance test: ginkgo runs here against the remote API server,
    // its images go to the nodes over the same link.
    let (stdout, _) = cluster.run(&[
        "e2e",
        "Services should serve a basic endpoint from pods [Conformance]",
    ]);
    assert!(
        stdout.contains("Ran 1 of 1 selected tests") && stdout.contains(": 1 passed, 0 failed"),
        "{stdout}"
    );
    let logs = remote.dir.path().join("logs");
    cluster.run(&["logs", "--dir", logs.to_str().unwrap()]);
    let collected = common::files_under(&logs);
    assert!(
        collected.iter().any(|f| f.contains("kube-master")),
        "{collected:?}"
    );

    // clean leaves nothing of the cluster on the remote engine; with --all
    // (and a cache of its own, so the shared one stays) not even node images.
    cluster.run(&["clean"]);
    let left = remote.objects_but_tool_images();
    assert!(left.is_empty(), "left on the remote engine: {left:?}");
    let cache = tempfile::tempdir().unwrap();
    with_env(
        &mut cluster,
        vec![(
            "K8S_DIND_CACHE_DIR".into(),
            cache.path().display().to_string(),
        )],
    );
    cluster.run(&["clean", "--all"]);
    assert_eq!(remote.objects(), Vec::<String>::new());
    assert_eq!(
        local_objects("remote"),
        local_before,
        "the local engine changed"
    );
}

/// Bad remote endpoints: each error says what was tried and what to check.
#[test]
#[ignore = "starts a second dockerd in a network namespace; run by .ci/test"]
fn bad_remote_endpoints_are_clear_errors() {
    let mut remote = RemoteEngine::start();
    remote.start_sshd();
    let dir = remote.dir.path();
    let status = |env: &[(&str, String)]| {
        let mut cmd = Command::new(common::bin());
        cmd.arg("status")
            .env("K8S_DIND_CLUSTER_NAME", "remote-errors")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_TLS_VERIFY")
            .env_remove("DOCKER_CERT_PATH");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let tls = |path: &std::path::Path| {
        vec![
            ("DOCKER_HOST", format!("tcp://{ADDR}:2376")),
            ("DOCKER_TLS_VERIFY", "1".to_string()),
            ("DOCKER_CERT_PATH", path.display().to_string()),
        ]
    };

    // Nothing listens on that port.
    let err = status(&[("DOCKER_HOST", format!("tcp://{ADDR}:2999"))]);
    assert!(
        err.contains(&format!(
            "cannot reach the Docker engine at tcp://{ADDR}:2999 (from DOCKER_HOST)"
        )) && err.contains("refused"),
        "{err}"
    );
    // A TLS port asked without TLS.
    let err = status(&[("DOCKER_HOST", format!("tcp://{ADDR}:2376"))]);
    assert!(err.contains("DOCKER_TLS_VERIFY=1"), "{err}");
    // A missing certificate file is named.
    let partial = dir.join("partial");
    std::fs::create_dir_all(&partial).unwrap();
    std::fs::copy(dir.join("client/cert.pem"), partial.join("cert.pem")).unwrap();
    let err = status(&tls(&partial));
    assert!(
        err.contains("missing: ca.pem, key.pem") && err.contains(partial.to_str().unwrap()),
        "{err}"
    );
    // Certificates of another CA: the handshake fails, naming the files.
    let err = status(&tls(&dir.join("other-ca")));
    assert!(
        err.contains("over TLS with ca.pem, cert.pem and key.pem from")
            && err.contains("other-ca")
            && err.contains("UnknownIssuer"),
        "{err}"
    );
    // ssh with a key the server does not know: the command and ssh's reason.
    let err = status(&[
        ("DOCKER_HOST", format!("ssh://root@{ADDR}")),
        ("K8S_DIND_SSH_OPTIONS", remote.ssh_options("host_key")),
    ]);
    assert!(
        err.contains("through `ssh -F /dev/null")
            && err.contains("docker system dial-stdio`")
            && err.contains("Permission denied"),
        "{err}"
    );
    // An ssh URL with a path, refused before anything is started.
    let err = status(&[(
        "DOCKER_HOST",
        format!("ssh://root@{ADDR}/var/run/docker.sock"),
    )]);
    assert!(
        err.contains("a path after the host is not supported"),
        "{err}"
    );
}
