//! Damaged state, for real: a 1 master + 1 worker cluster whose snapshot
//! labels are rewritten behind the tool's back (`docker commit --change
//! LABEL` tagged over the snapshot image), then whose node image tag is
//! removed under its snapshot. `status` says what is damaged or missing and
//! `up` makes a new cluster or tags the node image again and restores.
//! A changed file in the build cache is covered by unit tests
//! (src/artifacts/cache/tests.rs): a real `up` with a node image reads no cache
//! entry that would not mean rebuilding the node image other tests share.
//! Ignored by default (root, dockerd, minutes); .ci/test runs it.

use crate::common;

use std::process::Command;

use common::cluster::Cluster;
use common::docker;

const VERSION: &str = "v1.37.2";
/// `status` of a cluster that is not running (its snapshot, damaged or
/// not, is reported all the same).
const NOT_RUNNING: i32 = 3;

fn node_image() -> String {
    format!("kubeadm-local-cluster/node:{VERSION}-amd64")
}

fn snapshot_image(node: &str) -> String {
    format!("kubeadm-local-cluster/snapshot-it-damage:{node}")
}

/// Puts the node image's tag back if the test stops between removing it
/// and `up` tagging it again: other tests on this engine use it.
struct Retag {
    id: String,
}

impl Drop for Retag {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["tag", &self.id, &node_image()])
            .status();
    }
}

#[test]
#[ignore]
fn damaged_snapshots_and_a_node_image_removed_under_one() {
    let mut cluster = Cluster::new("it-damage", "10.240.0.0/24");
    cluster.extra = vec![
        ("K8S_DIND_NUM_NODES".into(), "1".into()),
        ("K8S_DIND_KUBERNETES_VERSION".into(), VERSION.into()),
    ];
    let ready = |c: &Cluster| {
        let nodes = c.nodes_ready();
        assert_eq!(nodes.len(), 2, "{nodes:?}");
        assert!(nodes.iter().all(|(_, r)| *r), "{nodes:?}");
    };
    cluster.run(&["up"]);
    ready(&cluster);
    cluster.run(&["down"]);

    // The worker's snapshot with its settings label rewritten to garbage.
    let worker = snapshot_image("kube-node-1");
    let tmp = "it-damage-relabel";
    let _ = Command::new("docker").args(["rm", "-f", tmp]).output();
    docker(&["create", "--name", tmp, &worker]);
    docker(&[
        "commit",
        "--change",
        "LABEL io.kubeadm-local-cluster.fingerprint-fields=garbage",
        tmp,
        &worker,
    ]);
    docker(&["rm", "-f", tmp]);
    let (status, code) = cluster.status();
    assert_eq!(code, NOT_RUNNING, "{status}");
    let why = format!(
        "the image {worker} has an unreadable label io.kubeadm-local-cluster.fingerprint-fields"
    );
    assert!(
        status.contains(&format!("snapshot: damaged ({why}")),
        "{status}"
    );
    let (_, stderr) = cluster.run(&["up"]);
    assert!(
        stderr.contains(&format!(
            "the snapshot of cluster \"it-damage\" is damaged ({why}"
        )) && stderr.contains("making a new cluster"),
        "{stderr}"
    );
    ready(&cluster);
    let (status, _) = cluster.run(&["status"]);
    assert!(
        status.contains("snapshot: Kubernetes v1.37.2, 1 worker(s)"),
        "{status}"
    );
    cluster.run(&["down"]);

    // The node image's tag removed under the snapshot: the image stays
    // (the snapshot images are its children) and `up` tags it again.
    let id = docker(&["image", "inspect", "-f", "{{.Id}}", &node_image()])
        .trim()
        .to_string();
    let retag = Retag { id: id.clone() };
    docker(&["rmi", "-f", &node_image()]);
    let (status, code) = cluster.status();
    assert_eq!(code, NOT_RUNNING, "{status}");
    let up = cluster.run(&["up"]);
    drop(retag);
    assert!(
        status.contains(&format!(
            "node image: {} (missing; the snapshot's node image {id} is still in the engine",
            node_image()
        )),
        "{status}"
    );
    let (stdout, stderr) = up;
    assert!(
        stderr.contains(&format!("node image {} was missing", node_image()))
            && stderr.contains("tagged it"),
        "{stderr}"
    );
    assert!(
        format!("{stdout}{stderr}").contains("restored in"),
        "{stdout}{stderr}"
    );
    ready(&cluster);
    let now = docker(&["image", "inspect", "-f", "{{.Id}}", &node_image()]);
    assert_eq!(now.trim(), id);
}
