//! The commands on the fake engine: what `status`, `down`, `clean` and
//! `logs` decide and say, beside `up`'s own tests in `up.rs`.

use super::exit::Exit;
use super::nodes::{clean_locked, clean_on, down_locked, down_on, export_logs_from};
use super::reup::reup_on;
use super::status::report;
use super::up::{up_locked, up_on};
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
    status_and_exit(s).await.0
}

async fn status_and_exit(s: &Scene) -> (String, Exit) {
    let (lines, exit) = report(&s.settings, &Ui::recording(1), &s.fake)
        .await
        .unwrap();
    (lines.join("\n"), exit)
}

#[tokio::test(start_paused = true)]
async fn status_follows_the_cluster_through_up_a_stopped_node_and_down() {
    let s = scene(&[]);
    let (text, exit) = status_and_exit(&s).await;
    assert_eq!(exit, Exit::NotRunning);
    assert!(text.starts_with("cluster c: not running\n"), "{text}");
    assert!(text.contains("\nsnapshot: none\n"), "{text}");
    assert!(
        text.contains(&format!("\nnode image: {NODE_IMAGE} (Kubernetes v1.37.2;")),
        "{text}"
    );
    assert!(text.contains("\nregistry: none\n"), "{text}");

    up(&s).await;
    let (text, exit) = status_and_exit(&s).await;
    assert_eq!(exit, Exit::Success);
    assert!(text.starts_with("cluster c: running\n"), "{text}");
    for node in ["kube-master", "kube-node-1", "kube-node-2"] {
        assert!(text.contains(&format!("\n  {node}: running\n")), "{text}");
    }
    assert!(
        text.contains("\nsnapshot: Kubernetes v1.37.2, 2 worker(s)\n"),
        "{text}"
    );

    s.fake.stop("c-kube-node-1");
    let (text, exit) = status_and_exit(&s).await;
    assert_eq!(exit, Exit::Unwell);
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

/// Settings of another cluster, `d`, in the scene's home (so under the same
/// lock directory), with `env` on top.
fn cluster_d(s: &Scene, env: &[(&str, &str)]) -> crate::settings::Settings {
    let mut d = vec![
        ("K8S_DIND_CLUSTER_NAME", "d"),
        ("K8S_DIND_DIND_SUBNET", "10.251.0.0/24"),
    ];
    d.extend_from_slice(env);
    crate::cluster::tests::settings_at(s._home.path(), &crate::cluster::tests::cluster_c_env(&d))
}

#[tokio::test]
async fn every_changing_command_is_refused_on_a_held_lock_and_other_clusters_go_on() {
    let s = scene(&[("K8S_DIND_NO_WAIT", "true")]);
    let ui = Ui::recording(1);
    let held = super::lock_cluster(&s.settings, &ui, &s.fake, "up")
        .await
        .unwrap();
    let busy = |result: anyhow::Result<()>| {
        let text = format!("{:#}", result.expect_err("the lock is held"));
        assert!(
            text.contains("cluster \"c\" is busy: `local-cluster up` (pid ")
                && text.contains("not waiting for it (noWait from env K8S_DIND_NO_WAIT)"),
            "{text}"
        );
    };
    busy(up_on(&s.settings, &ui, &s.fake).await);
    busy(down_on(&s.settings, &ui, &s.fake).await);
    busy(clean_on(&s.settings, &ui, &s.fake, false).await);
    let tree = s._home.path().join("kubernetes");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("go.mod"), "module k8s.io/kubernetes\n").unwrap();
    let reup = crate::cluster::tests::settings_at(
        s._home.path(),
        &crate::cluster::tests::cluster_c_env(&[
            ("K8S_DIND_NO_WAIT", "true"),
            ("K8S_DIND_BUILD_KUBEADM", "true"),
            ("K8S_DIND_K8S_DIR", tree.to_str().unwrap()),
        ]),
    );
    busy(reup_on(&reup, &ui, &s.fake).await);
    // Nothing was done under someone else's lock.
    assert!(s.fake.calls().iter().all(|c| !c.starts_with("create")));

    // Another cluster's commands do not wait for this one's.
    let d = cluster_d(&s, &[("K8S_DIND_NO_WAIT", "true")]);
    down_on(&d, &ui, &s.fake).await.unwrap();
    clean_on(&d, &ui, &s.fake, false).await.unwrap();
    drop(held);
    down_on(&s.settings, &ui, &s.fake).await.unwrap();
}

#[tokio::test]
async fn clean_waits_for_a_held_lock_and_goes_on_once_it_is_let_go() {
    let s = scene(&[]);
    up(&s).await;
    let ui = Ui::recording(1);
    let held = super::lock_cluster(&s.settings, &ui, &s.fake, "reup")
        .await
        .unwrap();
    let release = async {
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        // Still there while the lock is held.
        assert_eq!(s.fake.container_names(), NODES);
        drop(held);
    };
    let (cleaned, ()) = tokio::join!(clean_on(&s.settings, &ui, &s.fake, false), release);
    cleaned.unwrap();
    assert!(s.fake.container_names().is_empty());
    let events = format!("{:?}", ui.events());
    assert!(
        events.contains("is busy: `local-cluster reup`") && events.contains("waiting for it"),
        "{events}"
    );
}

#[tokio::test(start_paused = true)]
async fn build_images_without_a_pod_network_image_or_addons_makes_nothing() {
    let s = scene(&[("K8S_DIND_ADDONS", "")]);
    let ui = Ui::recording(1);
    super::up::build_images_on(&s.settings, &ui, &s.fake)
        .await
        .unwrap();
    let events = format!("{:?}", ui.events());
    assert!(
        events.contains("Nothing to make: pod network bridge and no addons"),
        "{events}"
    );
    assert!(s.fake.container_names().is_empty(), "no cluster made");
}
