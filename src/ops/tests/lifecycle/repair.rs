//! Running clusters that lost something: an interrupted `up`, a killed
//! node, a stopped kubelet, units that will not start. `up` repairs what it
//! can and replaces the rest from the snapshot.

use super::*;

/// How many containers of this name were created.
fn created(s: &Scene, container: &str) -> usize {
    s.fake
        .calls()
        .iter()
        .filter(|c| **c == format!("create_container {container}"))
        .count()
}

#[tokio::test(start_paused = true)]
async fn an_interrupted_up_is_not_taken_as_running_and_is_started_again() {
    let s = scene(&[]);
    s.up(&Ui::recording(1)).await.unwrap();
    // The nodes run, but the up that made them did not get to its end.
    s.nodes.forget_marks();
    let ui = Ui::recording(1);
    assert_eq!(s.up(&ui).await.unwrap(), UpOutcome::Restored);
    let events = texts(&ui.events());
    assert!(events.contains("was not finished by an `up`"), "{events}");
    assert_eq!(s.ran("init"), 1);
    // Finished now: the next up leaves it alone.
    assert_eq!(
        s.up(&Ui::recording(1)).await.unwrap(),
        UpOutcome::AlreadyRunning
    );
}

#[tokio::test(start_paused = true)]
async fn a_killed_node_is_replaced_from_the_snapshot_and_the_others_keep_running() {
    let s = scene(&[]);
    s.up(&Ui::recording(1)).await.unwrap();
    s.fake.stop("c-kube-node-1");
    s.nodes.unmark("c-kube-node-1");
    let before: Vec<usize> = NODES.iter().map(|n| created(&s, n)).collect();
    let ui = Ui::recording(1);
    assert_eq!(s.up(&ui).await.unwrap(), UpOutcome::Repaired);
    let events = texts(&ui.events());
    assert!(
        events.contains("has broken nodes: kube-node-1: stopped"),
        "{events}"
    );
    assert!(
        events.contains("Replacing a node from the snapshot: kube-node-1"),
        "{events}"
    );
    let after: Vec<usize> = NODES.iter().map(|n| created(&s, n)).collect();
    assert_eq!(
        after,
        [before[0], before[1] + 1, before[2]],
        "only the killed node is new"
    );
    assert_eq!(
        s.fake.containers()["c-kube-node-1"].spec.image,
        "kubeadm-local-cluster/snapshot-c:kube-node-1"
    );
    assert_eq!(s.ran("init"), 1);
    assert_eq!(
        s.up(&Ui::recording(1)).await.unwrap(),
        UpOutcome::AlreadyRunning
    );
}

#[tokio::test(start_paused = true)]
async fn a_stopped_kubelet_is_started_again_without_replacing_its_node() {
    let s = scene(&[]);
    s.up(&Ui::recording(1)).await.unwrap();
    s.nodes.stop_unit("c-kube-node-2", "kubelet");
    let before = created(&s, "c-kube-node-2");
    let ui = Ui::recording(1);
    assert_eq!(s.up(&ui).await.unwrap(), UpOutcome::Repaired);
    let events = texts(&ui.events());
    assert!(
        events.contains("kube-node-2: running; not active: kubelet inactive"),
        "{events}"
    );
    assert!(
        events.contains("Starting containerd and kubelet again on kube-node-2"),
        "{events}"
    );
    assert_eq!(created(&s, "c-kube-node-2"), before);
}

#[tokio::test(start_paused = true)]
async fn a_node_whose_units_will_not_start_is_replaced() {
    let s = scene(&[]);
    s.up(&Ui::recording(1)).await.unwrap();
    s.nodes.stop_unit("c-kube-master", "containerd");
    s.nodes
        .units_broken
        .lock()
        .unwrap()
        .insert("c-kube-master".to_string());
    let port = s.master_port();
    let ui = Ui::recording(1);
    assert_eq!(s.up(&ui).await.unwrap(), UpOutcome::Repaired);
    let events = texts(&ui.events());
    assert!(
        events.contains("kube-master: its units do not start; replacing the node"),
        "{events}"
    );
    // The replaced master keeps the port admin.conf names.
    assert_eq!(s.master_port(), port);
    assert_eq!(
        s.fake.containers()["c-kube-master"].spec.image,
        "kubeadm-local-cluster/snapshot-c:kube-master"
    );
}
