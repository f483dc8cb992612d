//! Out of the box: a cluster made with no settings on a machine that reaches
//! the Go module proxy but no release site or registry (see
//! [`common::cluster::OfflineTrap`]), with the default addons; and
//! metrics-server plus an addon from a URL.
//! Ignored by default (root, dockerd, minutes); .ci/test runs them.

use crate::common;

use std::time::{Duration, Instant};

use common::cluster::Cluster;
use common::{ensure_busybox_image, BUSYBOX};

/// A pod running `script` in busybox with claim `claim` at /data.
fn volume_pod(name: &str, claim: &str, script: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: {BUSYBOX}
    imagePullPolicy: Never
    command: ["sh", "-c", "{script}"]
    volumeMounts: [{{name: data, mountPath: /data}}]
  volumes:
  - name: data
    persistentVolumeClaim: {{claimName: {claim}}}
"#
    )
}

/// What a claim-less PVC gets from the default class: bound, written by one
/// pod, read back by another that the volume's node affinity places.
fn check_local_path_volume(c: &Cluster, suffix: &str) {
    let claim = format!("data-{suffix}");
    c.apply(&format!(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: {claim}}}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {{requests: {{storage: 16Mi}}}}\n"
    ));
    let writer = format!("writer-{suffix}");
    c.apply(&volume_pod(
        &writer,
        &claim,
        &format!("echo written-by-{writer} > /data/file"),
    ));
    c.wait_succeeded(&writer, Duration::from_secs(180));
    let phase = c.kubectl(&["get", "pvc", &claim, "-o", "jsonpath={.status.phase}"]);
    assert_eq!(phase.trim(), "Bound", "claim {claim}");
    let class = c.kubectl(&[
        "get",
        "pvc",
        &claim,
        "-o",
        "jsonpath={.spec.storageClassName}",
    ]);
    assert_eq!(class.trim(), "local-path", "the default class was given");
    let reader = format!("reader-{suffix}");
    c.apply(&volume_pod(&reader, &claim, "cat /data/file"));
    c.wait_succeeded(&reader, Duration::from_secs(120));
    let read = c.kubectl(&["logs", &reader]);
    assert_eq!(read.trim(), format!("written-by-{writer}"));
    let node_of = |pod: &str| c.kubectl(&["get", "pod", pod, "-o", "jsonpath={.spec.nodeName}"]);
    assert_eq!(
        node_of(&writer),
        node_of(&reader),
        "the volume is on one node"
    );
}

/// The README's `up` with nothing set: the release site and registries do
/// not answer, so Kubernetes comes from its Go module and images are built,
/// each said; the dashboard is left out with one warning naming its image;
/// local-path is the default StorageClass and a claim without a class works,
/// before and after a restore, which other source settings do not prevent.
/// `status` says where the binaries came from.
#[test]
#[ignore = "needs root, a Docker engine and several minutes; run by .ci/test"]
fn with_no_settings_sources_fall_back_and_default_addons_work() {
    ensure_busybox_image();
    let mut c = Cluster::with_defaults("it-defaults", "10.218.0.0/24");

    // The node image other tests made is the one `up` uses; asking for it
    // again decides the sources as a first build would.
    let (_, said) = c.run(&["build", "node-image"]);
    assert!(
        said.contains("binaries by building the Go module k8s.io/kubernetes (auto: https://dl.k8s.io/release/"),
        "{said}"
    );
    assert!(said.contains("did not answer"), "{said}");
    assert!(
        said.contains("images of registry.k8s.io: built here (imageSource auto:"),
        "{said}"
    );

    let (_, said) = c.run(&["up"]);
    let left_out: Vec<&str> = said
        .lines()
        .filter(|l| l.contains("addon dashboard is left out"))
        .collect();
    assert_eq!(left_out.len(), 1, "{said}");
    assert!(
        left_out[0].contains("Headlamp's manifest could not be fetched")
            || left_out[0].contains("ghcr.io/headlamp-k8s/headlamp"),
        "{said}"
    );
    let ready = c.nodes_ready();
    assert!(
        ready.len() == 3 && ready.iter().all(|(_, r)| *r),
        "{ready:?}"
    );
    c.run(&["load", BUSYBOX]);
    let classes = c.kubectl(&["get", "storageclass"]);
    assert!(classes.contains("local-path (default)"), "{classes}");
    check_local_path_volume(&c, "a");

    let (status, _) = c.run(&["status"]);
    assert!(
        status.contains("built from the Go module k8s.io/kubernetes@"),
        "{status}"
    );

    // Only how binaries and images would be fetched changes: the node image
    // and the snapshot stay, and nothing is fetched.
    c.run(&["down"]);
    c.extra = vec![
        ("K8S_DIND_KUBERNETES_SOURCE".into(), "release".into()),
        ("K8S_DIND_IMAGE_SOURCE".into(), "registry".into()),
    ];
    let (_, said) = c.run(&["up"]);
    assert!(said.contains("restored"), "{said}");
    assert!(
        !said.contains("left out"),
        "a restore prepares nothing: {said}"
    );
    c.extra.clear();
    // The first volume's data is still there, and new claims work.
    c.apply(&volume_pod("reader-again", "data-a", "cat /data/file"));
    c.wait_succeeded("reader-again", Duration::from_secs(120));
    assert_eq!(
        c.kubectl(&["logs", "reader-again"]).trim(),
        "written-by-writer-a"
    );
    check_local_path_volume(&c, "b");
    c.run(&["clean"]);
}

/// metrics-server built here: `kubectl top` prints figures for nodes and
/// pods. An addon from a URL (a local HTTP server) is applied beside it.
#[test]
#[ignore = "needs root, a Docker engine and several minutes; run by .ci/test"]
fn metrics_server_and_an_addon_from_a_url() {
    // The server serves its directory's `release/`.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("release")).unwrap();
    std::fs::write(
        dir.path().join("release/app.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-a-url, namespace: default}\ndata: {served: \"yes\"}\n",
    )
    .unwrap();
    let base = common::serve::serve(dir.path().to_path_buf());
    let mut c = Cluster::new("it-metrics", "10.219.0.0/24");
    c.extra = vec![
        (
            "K8S_DIND_ADDONS".to_string(),
            format!("metrics-server,{base}/app.yaml"),
        ),
        ("K8S_DIND_NUM_NODES".to_string(), "1".to_string()),
    ];
    c.run(&["up"]);
    let served = c.kubectl(&[
        "get",
        "configmap",
        "from-a-url",
        "-o",
        "jsonpath={.data.served}",
    ]);
    assert_eq!(served, "yes");

    let start = Instant::now();
    let nodes = loop {
        let out = c.kubectl_output(&["top", "nodes", "--no-headers"]);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if out.status.success() && text.lines().count() == 2 {
            break text;
        }
        assert!(
            start.elapsed() < Duration::from_secs(240),
            "kubectl top nodes: {}{}\n{}",
            text,
            String::from_utf8_lossy(&out.stderr),
            c.kubectl(&["get", "pods", "-n", "kube-system", "-o", "wide"])
        );
        std::thread::sleep(Duration::from_secs(5));
    };
    eprintln!("kubectl top nodes ({:.0?}):\n{nodes}", start.elapsed());
    for line in nodes.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert!(
            fields.len() >= 5 && fields[1].ends_with('m') && fields[3].ends_with("Mi"),
            "{line}"
        );
    }
    let pods = loop {
        let out = c.kubectl_output(&["top", "pods", "-A", "--no-headers"]);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if out.status.success() && text.contains("kube-apiserver") {
            break text;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "kubectl top pods: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_secs(5));
    };
    eprintln!("kubectl top pods -A:\n{pods}");
    let apiserver = pods.lines().find(|l| l.contains("kube-apiserver")).unwrap();
    let fields: Vec<&str> = apiserver.split_whitespace().collect();
    assert!(
        fields[2].ends_with('m') && fields[3].ends_with("Mi"),
        "{apiserver}"
    );
    c.run(&["clean"]);
}

/// Named snapshots (issue 34): a Deployment, a ConfigMap and a volume's data
/// saved; the cluster changed; the restore brings back the first state. A
/// snapshot for other settings is refused naming the difference, with the
/// cluster left running; `clean` keeps named snapshots; `snapshot rm` and
/// `list` work.
#[test]
#[ignore = "needs root, a Docker engine and several minutes; run by .ci/test"]
fn named_snapshots_bring_back_workloads_and_volume_data() {
    ensure_busybox_image();
    let env = |k: &str, v: &str| (k.to_string(), v.to_string());
    let c = Cluster::with_env(
        "it-named",
        "10.215.0.0/24",
        vec![
            env("K8S_DIND_ADDONS", "local-path"),
            env("K8S_DIND_NUM_NODES", "1"),
        ],
    );
    c.run(&["up"]);
    c.run(&["load", BUSYBOX]);
    c.apply(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 16Mi}}\n",
    );
    c.apply(&volume_pod(
        "write-first",
        "data",
        "echo first > /data/file",
    ));
    c.wait_succeeded("write-first", Duration::from_secs(180));
    c.kubectl(&["create", "configmap", "settings", "--from-literal=k=one"]);
    c.kubectl(&[
        "create",
        "deployment",
        "web",
        "--image",
        BUSYBOX,
        "--",
        "sleep",
        "100000",
    ]);
    c.kubectl(&["rollout", "status", "deployment/web", "--timeout=120s"]);

    let (_, said) = c.run(&["snapshot", "save", "before"]);
    assert!(said.contains("Saved snapshot \"before\""), "{said}");
    let (listed, _) = c.run(&["snapshot", "list"]);
    let line = listed
        .lines()
        .find(|l| l.starts_with("before "))
        .unwrap_or_default();
    assert!(
        line.contains("v1.37.2") && line.contains("local-path"),
        "{listed}"
    );
    // The cluster runs on after the save.
    assert!(c.status().0.starts_with("cluster it-named: running\n"));

    // Changed: the Deployment gone, the ConfigMap and the volume rewritten.
    c.kubectl(&["delete", "deployment", "web"]);
    c.kubectl(&["delete", "configmap", "settings"]);
    c.kubectl(&["create", "configmap", "settings", "--from-literal=k=two"]);
    c.apply(&volume_pod(
        "write-second",
        "data",
        "echo second > /data/file",
    ));
    c.wait_succeeded("write-second", Duration::from_secs(120));

    // Other settings: refused before anything changes.
    let out = c
        .command(&["snapshot", "restore", "before"])
        .env("K8S_DIND_NUM_NODES", "2")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("made for other settings") && err.contains("numNodes 1 → 2"),
        "{err}"
    );
    assert!(c.status().0.starts_with("cluster it-named: running\n"));

    let (_, said) = c.run(&["snapshot", "restore", "before"]);
    assert!(said.contains("restored in"), "{said}");
    c.kubectl(&["rollout", "status", "deployment/web", "--timeout=120s"]);
    let value = c.kubectl(&["get", "configmap", "settings", "-o", "jsonpath={.data.k}"]);
    assert_eq!(value.trim(), "one");
    c.apply(&volume_pod("read-back", "data", "cat /data/file"));
    c.wait_succeeded("read-back", Duration::from_secs(120));
    assert_eq!(c.kubectl(&["logs", "read-back"]).trim(), "first");

    // `clean` keeps it (and says so); `rm` removes it; a second `rm` fails.
    let (_, said) = c.run(&["clean"]);
    assert!(
        said.contains("Kept the named snapshots of cluster \"it-named\": before"),
        "{said}"
    );
    let (listed, _) = c.run(&["snapshot", "list"]);
    assert!(listed.contains("before "), "{listed}");
    c.run(&["snapshot", "rm", "before"]);
    let (listed, _) = c.run(&["snapshot", "list"]);
    assert!(listed.contains("has no named snapshots"), "{listed}");
    let out = c.command(&["snapshot", "rm", "before"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no snapshot named \"before\""));
}
