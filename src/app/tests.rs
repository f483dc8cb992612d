//! The commands on the fake engine: what `status`, `down`, `clean` and
//! `logs` decide and say, beside `up`'s own tests in `up.rs`.

use super::nodes::{clean_locked, down_locked, export_logs_from};
use super::status::report;
use super::up::up_locked;
use crate::engine::fake::{FakeEngine, Op};
use crate::engine::ApiErrorKind;
use crate::ops::tests::scene::{scene, Scene, NODES, NODE_IMAGE};
use crate::ui::Ui;

async fn up(s: &Scene) {
    up_locked::<FakeEngine>(&s.settings, &Ui::recording(1), &s.fake)
        .await
        .unwrap();
}

async fn status(s: &Scene) -> String {
    report(&s.settings, &Ui::recording(1), &s.fake)
        .await
        .unwrap()
        .join("\n")
}

#[tokio::test(start_paused = true)]
async fn status_follows_the_cluster_through_up_a_stopped_node_and_down() {
    let s = scene(&[]);
    let text = status(&s).await;
    assert!(text.starts_with("cluster c: not running\n"), "{text}");
    assert!(text.contains("\nsnapshot: none\n"), "{text}");
    assert!(
        text.contains(&format!("\nnode image: {NODE_IMAGE} (Kubernetes v1.37.2;")),
        "{text}"
    );
    assert!(text.contains("\nregistry: none\n"), "{text}");

    up(&s).await;
    let text = status(&s).await;
    assert!(text.starts_with("cluster c: running\n"), "{text}");
    for node in ["kube-master", "kube-node-1", "kube-node-2"] {
        assert!(text.contains(&format!("\n  {node}: running\n")), "{text}");
    }
    assert!(
        text.contains("\nsnapshot: Kubernetes v1.37.2, 2 worker(s)\n"),
        "{text}"
    );

    s.fake.stop("c-kube-node-1");
    let text = status(&s).await;
    assert!(
        text.starts_with(
            "cluster c: broken nodes; `local-cluster up --cluster-name c` repairs them \
             (from the snapshot where needed)\n"
        ),
        "{text}"
    );
    assert!(text.contains("\n  kube-node-1: stopped ("), "{text}");

    down_locked(&s.settings, &Ui::recording(1), &s.fake)
        .await
        .unwrap();
    let text = status(&s).await;
    assert!(text.starts_with("cluster c: not running\n"), "{text}");
    assert!(
        text.contains("\nsnapshot: Kubernetes v1.37.2, 2 worker(s)\n"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn down_keeps_the_snapshot_clean_removes_it_and_clean_all_the_node_image_and_cache() {
    let s = scene(&[]);
    up(&s).await;
    let ui = Ui::recording(1);
    down_locked(&s.settings, &ui, &s.fake).await.unwrap();
    assert!(s.fake.container_names().is_empty());
    assert_eq!(s.snapshot_images().len(), NODES.len());

    clean_locked(&s.settings, &ui, &s.fake, false)
        .await
        .unwrap();
    assert!(s.snapshot_images().is_empty());
    assert!(s.fake.network_names().is_empty());
    assert!(s.fake.images().iter().any(|i| i.id == s.image.id));

    std::fs::create_dir_all(s.settings.cache_dir.join("go")).unwrap();
    clean_locked(&s.settings, &ui, &s.fake, true).await.unwrap();
    assert!(s.fake.images().is_empty(), "{:?}", s.fake.images());
    assert!(!s.settings.cache_dir.exists());
}

#[tokio::test(start_paused = true)]
async fn clean_all_keeps_a_node_image_other_clusters_use_and_says_so() {
    let s = scene(&[]);
    s.fake
        .refuse(Op::RemoveImage, &s.image.id, ApiErrorKind::Conflict, 1);
    let ui = Ui::recording(1);
    clean_locked(&s.settings, &ui, &s.fake, true).await.unwrap();
    let events = format!("{:?}", ui.events());
    assert!(
        events.contains(&format!(
            "kept {NODE_IMAGE}: other clusters' snapshots or registries use it \
             (clean those clusters first)"
        )),
        "{events}"
    );
    assert!(s.fake.images().iter().any(|i| i.id == s.image.id));
}

#[tokio::test(start_paused = true)]
async fn logs_of_a_cluster_without_running_nodes_collect_nothing_and_say_so() {
    let s = scene(&[]);
    let dir = tempfile::tempdir().unwrap();
    let ui = Ui::recording(1);
    export_logs_from(&s.settings, &ui, &s.fake, Some(dir.path().to_path_buf()))
        .await
        .unwrap();
    let events = format!("{:?}", ui.events());
    assert!(
        events.contains("cluster \\\"c\\\" has no running nodes; nothing collected"),
        "{events}"
    );
}
