//! Snapshots damaged behind the tool's back (labels rewritten, images
//! removed or tagged over): `up` says what is damaged and makes a new
//! cluster, and the state `status` shows says the same.

use super::*;
use crate::cluster::state::snapshot::SnapshotState;
use crate::cluster::steps::snapshot;
use crate::labels::{LABEL_CLUSTER, LABEL_NODE_NAME, LABEL_ROLE};

const FIELDS: &str = "io.kubeadm-local-cluster.fingerprint-fields";
const PORT: &str = "io.kubeadm-local-cluster.apiserver-port";

impl Scene {
    /// As `docker commit --change 'LABEL k=v'` of a container of the
    /// node's snapshot, tagged over it: the original stays, untagged.
    fn relabel(&self, node: &str, changes: &[(&str, Option<&str>)]) {
        let reference = format!("kubeadm-local-cluster/snapshot-c:{node}");
        let image = self
            .fake
            .images()
            .into_iter()
            .find(|i| i.tags.contains(&reference))
            .unwrap();
        let mut labels = image.labels.clone();
        for (k, v) in changes {
            match v {
                Some(v) => labels.insert(k.to_string(), v.to_string()),
                None => labels.remove(*k),
            };
        }
        let labels: Vec<(&str, &str)> = labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.fake.add_image(&[&reference], &labels, image.files);
    }

    async fn state(&self) -> SnapshotState {
        let ui = Ui::recording(1);
        snapshot::state(Ctx::new(&self.fake, &self.plan, &ui))
            .await
            .unwrap()
    }

    /// `up` makes a new cluster, warning that the snapshot is damaged
    /// with a reason containing `why`; returns the reason.
    async fn up_replaces_damaged(&self, why: &str) -> String {
        let SnapshotState::Damaged(reason) = self.state().await else {
            panic!("not judged damaged: {:?}", self.state().await);
        };
        assert!(reason.contains(why), "{why:?} not in {reason:?}");
        let ui = Ui::recording(1);
        assert_eq!(self.up(&ui).await.unwrap(), UpOutcome::Created);
        let warning =
            format!("the snapshot of cluster \"c\" is damaged ({reason}); making a new cluster");
        assert!(
            has(&ui.events(), &Event::Warning(warning)),
            "{}",
            texts(&ui.events())
        );
        // A sound snapshot replaced it: the next up after down restores.
        assert!(matches!(self.state().await, SnapshotState::Complete { .. }));
        for node in ["kube-master", "kube-node-1", "kube-node-2"] {
            let reference = format!("kubeadm-local-cluster/snapshot-c:{node}");
            let image = self
                .fake
                .images()
                .into_iter()
                .find(|i| i.tags.contains(&reference));
            assert!(image.is_some(), "{reference} missing after up");
        }
        self.down().await;
        assert_eq!(
            self.up(&Ui::recording(1)).await.unwrap(),
            UpOutcome::Restored
        );
        reason
    }
}

#[tokio::test(start_paused = true)]
async fn garbage_in_the_settings_label_is_named_and_replaced() {
    let s = Scene::made_and_down(&[]).await;
    s.relabel("kube-node-1", &[(FIELDS, Some("garbage{"))]);
    let why = s
        .up_replaces_damaged(
            "the image kubeadm-local-cluster/snapshot-c:kube-node-1 has an unreadable label \
             io.kubeadm-local-cluster.fingerprint-fields (",
        )
        .await;
    assert!(why.ends_with("): garbage{"), "{why}");
}

#[tokio::test(start_paused = true)]
async fn missing_labels_are_named_and_replaced() {
    let s = Scene::made_and_down(&[]).await;
    s.relabel("kube-master", &[(FIELDS, None)]);
    s.up_replaces_damaged(
        "the image kubeadm-local-cluster/snapshot-c:kube-master has no label \
         io.kubeadm-local-cluster.fingerprint-fields",
    )
    .await;
    s.down().await;
    s.relabel("kube-node-2", &[(LABEL_NODE_NAME, None)]);
    s.up_replaces_damaged("snapshot-c:kube-node-2 has no label")
        .await;
}

#[tokio::test(start_paused = true)]
async fn a_port_label_that_is_no_number_is_named_and_replaced() {
    let s = Scene::made_and_down(&[]).await;
    s.relabel("kube-master", &[(PORT, Some("sixty"))]);
    s.up_replaces_damaged(
        "snapshot-c:kube-master has a label io.kubeadm-local-cluster.apiserver-port \"sixty\" \
         that is not a port number",
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_snapshot_of_only_some_nodes_is_named_and_replaced() {
    let s = Scene::made_and_down(&[]).await;
    s.fake
        .remove_image(
            "kubeadm-local-cluster/snapshot-c:kube-node-2",
            crate::engine::RemoveImage::Force,
        )
        .await
        .unwrap();
    s.up_replaces_damaged("the image kubeadm-local-cluster/snapshot-c:kube-node-2 is missing")
        .await;
}

#[tokio::test(start_paused = true)]
async fn a_snapshot_tag_over_an_unrelated_image_is_named_and_replaced() {
    let s = Scene::made_and_down(&[]).await;
    // `docker tag busybox kubeadm-local-cluster/snapshot-c:kube-node-1`:
    // the real snapshot image stays, untagged, with all its labels.
    let other = s.fake.add_image(
        &["kubeadm-local-cluster/snapshot-c:kube-node-1"],
        &[],
        FileTree::new(),
    );
    let why = s
        .up_replaces_damaged(
            "the image kubeadm-local-cluster/snapshot-c:kube-node-1 is not the snapshot of \
             kube-node-1",
        )
        .await;
    assert!(
        why.contains(&other) && why.contains("it has no snapshot labels"),
        "{why}"
    );
    // Another cluster's snapshot tagged over it.
    s.down().await;
    let labels = [
        (LABEL_CLUSTER, "d"),
        (LABEL_ROLE, "snapshot"),
        (LABEL_NODE_NAME, "kube-node-1"),
    ];
    s.fake.add_image(
        &["kubeadm-local-cluster/snapshot-c:kube-node-1"],
        &labels,
        FileTree::new(),
    );
    s.up_replaces_damaged("it is labelled for cluster \"d\"")
        .await;
}

/// `docker rmi -f kubeadm-local-cluster/node:<v>-amd64` under a snapshot
/// removes only the tag (the snapshot's images are the image's children):
/// `up` tags the image again and restores.
#[tokio::test(start_paused = true)]
async fn a_node_image_untagged_under_its_snapshot_is_tagged_again_and_restored() {
    let s = Scene::made_and_down(&[]).await;
    let ui = Ui::recording(1);
    let cx = Ctx::new(&s.fake, &s.plan, &ui);
    let retag = || lifecycle::retag_orphaned_node_image(cx, NODE_IMAGE, "amd64");
    // With its tag there, nothing to do.
    assert!(!retag().await.unwrap());
    s.fake.untag(NODE_IMAGE);
    assert_eq!(
        lifecycle::orphaned_node_image(cx, NODE_IMAGE, "v1.37.2", "amd64")
            .await
            .unwrap(),
        Some(s.image.id.clone())
    );
    // Not for another version or architecture than the snapshot's.
    for (v, arch) in [("v1.36.0", "amd64"), ("v1.37.2", "arm64")] {
        let found = lifecycle::orphaned_node_image(cx, NODE_IMAGE, v, arch).await;
        assert_eq!(found.unwrap(), None, "{v} {arch}");
    }
    assert!(retag().await.unwrap());
    let note = format!(
        "node image {NODE_IMAGE} was missing, but the image the snapshot of cluster \"c\" was made from ({}) is still in the engine: tagged it {NODE_IMAGE} again",
        s.image.id
    );
    assert!(
        has(&ui.events(), &Event::Warning(note)),
        "{}",
        texts(&ui.events())
    );
    let tagged = s
        .fake
        .images()
        .into_iter()
        .find(|i| i.id == s.image.id)
        .unwrap();
    assert!(
        tagged.tags.iter().any(|t| t == NODE_IMAGE),
        "{:?}",
        tagged.tags
    );
    assert_eq!(s.up(&Ui::recording(1)).await.unwrap(), UpOutcome::Restored);
}

/// With the node image gone altogether, there is nothing to tag: `up`'s
/// caller builds a new one, and the snapshot, made from the old one, is
/// replaced by a new cluster saying that the node image changed.
#[tokio::test(start_paused = true)]
async fn a_snapshot_whose_node_image_is_gone_is_replaced_saying_so() {
    let mut s = Scene::made_and_down(&[]).await;
    let ui = Ui::recording(1);
    let files = s
        .fake
        .images()
        .into_iter()
        .find(|i| i.id == s.image.id)
        .unwrap()
        .files;
    s.fake.untag(NODE_IMAGE);
    s.fake.forget_image(&s.image.id);
    let cx = Ctx::new(&s.fake, &s.plan, &ui);
    assert!(
        !lifecycle::retag_orphaned_node_image(cx, NODE_IMAGE, "amd64")
            .await
            .unwrap()
    );
    // The rebuilt node image has another id.
    let id = s
        .fake
        .add_image(&[NODE_IMAGE], &[(LABEL_ROLE, "node-image")], files);
    s.image.id = id;
    let ui = Ui::recording(1);
    assert_eq!(s.up(&ui).await.unwrap(), UpOutcome::Created);
    let events = texts(&ui.events());
    assert!(
        events.contains("was made for other settings (nodeImage "),
        "{events}"
    );
}
