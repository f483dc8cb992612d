//! Kubernetes from a source tree and `reup`, for real: a tree put together
//! from the Go module proxy by `local-cluster source` (a git checkout tagged
//! v1.37.2), edited so the kubelet and the API server log a line of ours at
//! start, built with the tree's own make and swapped into a running 3-node
//! cluster while a workload keeps serving; kubeadm and kubectl the same way;
//! a build that fails changes nothing; and `reup` of a cluster that is down
//! restores its snapshot and swaps the build in; and `e2e` runs the
//! conformance tests built in that same tree.
//! Ignored by default (root, dockerd, minutes); .ci/test runs it.

use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::cluster::Cluster;
use common::{ensure_busybox_image, text, web_workload, BUSYBOX};

const VERSION: &str = "v1.37.2";
/// The conformance test run against the tree's build, with the tree's tests.
const E2E_TEST: &str = "[sig-network] DNS should provide DNS for the cluster";
/// What the edited kubelet and API server log when they start.
const MARKER: &str = "reup test: built from the edited tree";

/// Asks the Service twice a second and logs each answer: `ok` or `FAIL`.
/// (`timeout`, as the host busybox's `wget -T` crashes.)
fn prober(cluster_ip: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: prober}}
spec:
  containers:
  - name: prober
    image: local-test/busybox:1
    imagePullPolicy: Never
    command: [sh, -c, 'while true; do if busybox timeout 3 wget -q -O- http://{cluster_ip}/ >/dev/null; then echo ok; else echo FAIL; fi; sleep 0.5; done']
"#
    )
}

/// Where the tree's make leaves the binaries for this host.
const OUTPUT: &str = "_output/local/bin/linux/amd64";

const SERVER_BINARIES: [&str; 5] = [
    "kubelet",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kube-proxy",
];

/// Copies of the server binaries the tree's build left, to tell a later
/// build's differences from.
fn keep_server_binaries(tree: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    let out = tree.join(OUTPUT);
    for name in SERVER_BINARIES {
        std::fs::copy(out.join(name), to.join(name)).unwrap();
    }
}

/// What differs between the kept binaries and the tree's build now: their
/// Go build information (`go version -m`), build IDs, first differing
/// byte, and the state of the tree, its output and the disks.
fn how_builds_differ(kept: &Path, tree: &Path) -> String {
    let out = tree.join(OUTPUT);
    let run = |program: &str, args: &[&str]| {
        let out = Command::new(program)
            .args(args)
            .current_dir(tree)
            .output()
            .map(|o| text(&o))
            .unwrap_or_else(|e| (String::new(), format!("{program}: {e}")));
        format!("{}{}", out.0, out.1)
    };
    let mut report = String::from("how the build differs from the one swapped in:\n");
    for name in SERVER_BINARIES {
        let (old, new) = (kept.join(name), out.join(name));
        let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());
        let (a, b) = (
            run("go", &["version", "-m", old]),
            run("go", &["version", "-m", new]),
        );
        let lines_a: Vec<&str> = a.lines().skip(1).collect();
        let lines_b: Vec<&str> = b.lines().skip(1).collect();
        report.push_str(&format!("{name}:\n"));
        for l in lines_a.iter().filter(|l| !lines_b.contains(l)) {
            report.push_str(&format!("  - {l}\n"));
        }
        for l in lines_b.iter().filter(|l| !lines_a.contains(l)) {
            report.push_str(&format!("  + {l}\n"));
        }
        report.push_str(&format!("  cmp: {}", run("cmp", &[old, new])));
        let ids = run("go", &["tool", "buildid", old]) + &run("go", &["tool", "buildid", new]);
        report.push_str(&format!("  build IDs:\n{ids}"));
    }
    report.push_str(&run("git", &["status", "--porcelain"]));
    report.push_str(&run(
        "ls",
        &["-la", "--time-style=full-iso", "_output/local/go/bin"],
    ));
    report.push_str(&run("df", &["-h", "/", "/tmp", "/var/tmp"]));
    report
}

/// A file in a package of the tree that logs `MARKER` when the binary starts.
fn add_marker(tree: &Path, package: &str) {
    std::fs::write(
        tree.join(package).join("zz_reup_test_marker.go"),
        format!(
            "package app\n\nimport \"k8s.io/klog/v2\"\n\nfunc init() {{ klog.InfoS({MARKER:?}) }}\n"
        ),
    )
    .unwrap();
}

fn git(tree: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(tree)
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "git {}: {stderr}", args.join(" "));
    stdout.trim().to_string()
}

/// What `kubectl version` says of the API server.
fn server_version(c: &Cluster) -> serde_json::Value {
    let version: serde_json::Value =
        serde_json::from_str(&c.kubectl(&["version", "-o", "json"])).unwrap();
    version["serverVersion"].clone()
}

/// The kubelet version each node reports.
fn kubelet_versions(c: &Cluster) -> Vec<String> {
    let versions = c.kubectl(&[
        "get",
        "nodes",
        "-o",
        "jsonpath={.items[*].status.nodeInfo.kubeletVersion}",
    ]);
    versions.split_whitespace().map(String::from).collect()
}

/// `docker exec` in a node container.
fn in_node(container: &str, script: &str) -> String {
    let out = Command::new("docker")
        .args(["exec", container, "sh", "-c", script])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "{script} in {container}: {stdout}{stderr}"
    );
    stdout
}

fn containers(c: &Cluster) -> Vec<String> {
    ["kube-master", "kube-node-1", "kube-node-2"]
        .iter()
        .map(|n| format!("{}-{n}", c.name))
        .collect()
}

/// The prober's answers so far: (ok, failed).
fn probes(c: &Cluster) -> (usize, usize) {
    let log = c.kubectl(&["logs", "prober"]);
    let ok = log.lines().filter(|l| *l == "ok").count();
    let failed = log.lines().filter(|l| *l == "FAIL").count();
    (ok, failed)
}

#[test]
#[ignore = "builds Kubernetes from a source tree and runs clusters (minutes); run by .ci/test"]
fn reup_swaps_a_rebuilt_tree_into_the_running_cluster() {
    ensure_busybox_image();
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("kubernetes");
    let c = Cluster::new("it-reup", "10.234.0.0/24");
    let tree_flag = format!("--k8s-dir={}", tree.display());

    // The tree: a git checkout of the release, as `source` makes it.
    let (_, stderr) = c.run(&["source", tree.to_str().unwrap()]);
    assert!(
        stderr.contains(&format!("a git checkout, tagged {VERSION}")),
        "{stderr}"
    );
    assert_eq!(git(&tree, &["describe", "--tags"]), VERSION);
    assert_eq!(git(&tree, &["status", "--porcelain"]), "");
    assert!(tree.join("staging/src/k8s.io/client-go/go.mod").is_file());

    // A cluster from the usual node image, with a workload on the workers.
    c.run(&["up"]);
    c.run(&["load", BUSYBOX]);
    c.apply(&web_workload(2));
    c.kubectl(&[
        "wait",
        "--for=condition=Available",
        "deployment/web",
        "--timeout=120s",
    ]);
    let ip = c.kubectl(&["get", "service", "web", "-o", "jsonpath={.spec.clusterIP}"]);
    c.apply(&prober(&ip));
    c.kubectl(&[
        "wait",
        "--for=condition=Ready",
        "pod/prober",
        "--timeout=120s",
    ]);
    let web_pods_before = c.kubectl(&["get", "pods", "-l", "app=web", "-o", "name"]);

    // A build that fails changes nothing: the error names the package.
    std::fs::write(
        tree.join("cmd/kubelet/app/zz_broken.go"),
        "package app\n\nfunc broken() { undefinedName() }\n",
    )
    .unwrap();
    let started = |node: &str| in_node(node, "systemctl show -p ActiveEnterTimestamp kubelet");
    let before: Vec<String> = containers(&c).iter().map(|n| started(n)).collect();
    let out = c
        .command(&["reup", "--build-hyperkube", &tree_flag])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("in package k8s.io/kubernetes/cmd/kubelet/app")
            && stderr.contains("undefinedName"),
        "{stderr}"
    );
    let after: Vec<String> = containers(&c).iter().map(|n| started(n)).collect();
    assert_eq!(
        before, after,
        "a kubelet was restarted after a failed build"
    );
    std::fs::remove_file(tree.join("cmd/kubelet/app/zz_broken.go")).unwrap();

    // The edit, and reup of the server binaries: the tree is now dirty.
    add_marker(&tree, "cmd/kubelet/app");
    add_marker(&tree, "cmd/kube-apiserver/app");
    let dirty = format!("{VERSION}-dirty");
    let (_, stderr) = c.run(&["reup", "--build-hyperkube", &tree_flag]);
    for name in SERVER_BINARIES {
        assert!(stderr.contains(&format!("  {name}: changed")), "{stderr}");
    }
    let swapped = dir.path().join("swapped");
    keep_server_binaries(&tree, &swapped);
    // Every kubelet is the new build and logged the marker since it started.
    for node in containers(&c) {
        // What the running kubelet process (this invocation of the unit) logged.
        let journal = in_node(
            &node,
            "journalctl --no-pager -o cat _SYSTEMD_INVOCATION_ID=$(systemctl show -p InvocationID --value kubelet)",
        );
        assert!(
            journal.contains(MARKER),
            "{node}: the running kubelet did not log the marker"
        );
    }
    assert_eq!(kubelet_versions(&c), [dirty.as_str(); 3]);
    // The API server runs the new build.
    let server = server_version(&c);
    assert_eq!(server["gitVersion"], dirty.as_str());
    assert_eq!(server["gitTreeState"], "dirty");
    let log = c.kubectl(&["-n", "kube-system", "logs", "kube-apiserver-kube-master"]);
    assert!(
        log.contains(MARKER),
        "the API server did not log the marker"
    );
    // kube-proxy runs an image of the new build on every node.
    let images = c.kubectl(&[
        "-n",
        "kube-system",
        "get",
        "pods",
        "-l",
        "k8s-app=kube-proxy",
        "-o",
        "jsonpath={.items[*].spec.containers[0].image}",
    ]);
    let images: Vec<&str> = images.split_whitespace().collect();
    assert_eq!(images.len(), 3, "{images:?}");
    assert!(
        images
            .iter()
            .all(|i| i.contains(&format!("kube-proxy:{dirty}-"))),
        "{images:?}"
    );
    // All nodes Ready, and the workload served throughout, never restarted.
    assert!(c.nodes_ready().iter().all(|(_, ready)| *ready));
    let (ok, failed) = probes(&c);
    assert!(
        ok > 20 && failed == 0,
        "the Service answered {ok} times and failed {failed} times"
    );
    assert_eq!(
        c.kubectl(&["get", "pods", "-l", "app=web", "-o", "name"]),
        web_pods_before
    );
    let restarts = c.kubectl(&[
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[*].status.containerStatuses[0].restartCount}",
    ]);
    assert!(restarts.split_whitespace().all(|r| r == "0"), "{restarts}");

    // The conformance tests of the tree the cluster now runs: e2e.test and
    // ginkgo built in that tree (the -dirty version is on no release site
    // or proxy), one focused test passes. Without the tree, e2e says so.
    let out = c.command(&["e2e", E2E_TEST]).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!(
            "runs Kubernetes {dirty}, a build of a source tree"
        )) && stderr.contains("is not a Kubernetes source tree"),
        "{stderr}"
    );
    let (stdout, stderr) = c.run(&["e2e", E2E_TEST, &tree_flag]);
    assert!(
        stderr.contains(&format!(
            "Building e2e.test, ginkgo {dirty} in {}",
            tree.display()
        )),
        "{stderr}"
    );
    assert!(stdout.contains(": 1 passed, 0 failed"), "{stdout}");
    let built = tree.join(OUTPUT).join("e2e.test");
    let version = Command::new(&built).arg("--version").output().unwrap();
    assert!(text(&version).0.contains(&dirty), "{}", text(&version).0);

    // The same build again: nothing changed, nothing restarted.
    let (_, stderr) = c.run(&["reup", "--build-hyperkube", &tree_flag]);
    assert!(
        stderr.contains("nothing had changed"),
        "{stderr}\n{}",
        how_builds_differ(&swapped, &tree)
    );

    // The same code committed: only the version stamp would change (the
    // tree clean at another commit), so nothing is built or restarted.
    let identity = ["-c", "user.name=it", "-c", "user.email=it@localhost"];
    git(&tree, &["add", "-A"]);
    git(
        &tree,
        &[&identity[..], &["commit", "-q", "-m", "markers"]].concat(),
    );
    let before: Vec<String> = containers(&c).iter().map(|n| started(n)).collect();
    let (_, stderr) = c.run(&["reup", "--build-hyperkube", &tree_flag]);
    for name in SERVER_BINARIES {
        assert!(
            stderr.contains(&format!(
                "  {name}: the cluster runs this code already: kept"
            )),
            "{stderr}"
        );
    }
    assert!(
        stderr.contains("nothing had changed") && !stderr.contains("Building"),
        "{stderr}"
    );
    let after: Vec<String> = containers(&c).iter().map(|n| started(n)).collect();
    assert_eq!(
        before, after,
        "a kubelet was restarted for a new stamp alone"
    );
    assert_eq!(server_version(&c)["gitVersion"], dirty.as_str());
    // The edits uncommitted again: the tree is dirty, as the rest expects.
    git(&tree, &["reset", "-q", "--soft", "HEAD~1"]);

    // kubeadm and kubectl: in the nodes and beside admin.conf.
    let (_, stderr) = c.run(&["reup", "--build-kubeadm", "--build-kubectl", &tree_flag]);
    assert!(
        stderr.contains("  kubeadm: changed") && stderr.contains("  kubectl: changed"),
        "{stderr}"
    );
    for node in containers(&c) {
        assert_eq!(in_node(&node, "kubeadm version -o short").trim(), dirty);
        let client = in_node(&node, "kubectl version --client -o json");
        assert!(
            client.contains(&format!("\"gitVersion\": \"{dirty}\"")),
            "{client}"
        );
    }
    let host = c.kubectl(&["version", "--client", "-o", "json"]);
    assert!(
        host.contains(&format!("\"gitVersion\": \"{dirty}\"")),
        "{host}"
    );

    // Down, then reup: the snapshot comes back (the release's binaries) and
    // the build goes in again.
    c.run(&["down"]);
    let (_, stderr) = c.run(&["reup", "--build-hyperkube", &tree_flag]);
    assert!(stderr.contains("Restoring cluster"), "{stderr}");
    assert!(stderr.contains("  kubelet: changed"), "{stderr}");
    assert_eq!(server_version(&c)["gitVersion"], dirty.as_str());
    c.exec_until(
        "prober",
        &["echo", "alive"],
        "alive",
        Duration::from_secs(60),
    );

    // No cluster and no snapshot: reup is up with the build, the node image
    // made from the tree's binaries and named by its version.
    c.run(&["clean"]);
    let (_, stderr) = c.run(&["reup", "--build-hyperkube", &tree_flag]);
    assert!(stderr.contains("bringing it up with the build"), "{stderr}");
    assert_eq!(server_version(&c)["gitVersion"], dirty.as_str());
    assert_eq!(kubelet_versions(&c), [dirty.as_str(); 3]);
    let image = format!("kubeadm-local-cluster/node:{dirty}-amd64");
    let label = common::docker(&[
        "image",
        "inspect",
        "-f",
        "{{index .Config.Labels \"io.kubeadm-local-cluster.kubernetes-version\"}}",
        &image,
    ]);
    assert_eq!(label.trim(), dirty);
    c.run(&["clean"]);
    common::docker(&["rmi", &image]);
}
