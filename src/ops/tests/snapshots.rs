//! Named snapshots against the fake engine: saved whole or not at all,
//! listed, refused when unknown, damaged or for other settings, restored
//! through `up`, removed; `clean` keeps them, `clean --all` does not.

use super::scene::*;
use crate::cluster::state::snapshot::SnapshotFields;
use crate::cluster::steps::named;
use crate::cluster::{ClusterError, Ctx};
use crate::engine::fake::Op;
use crate::engine::ApiErrorKind;
use crate::engine::ExecOutput;
use crate::ops::snapshots::{prepare_restore, remove, save};
use crate::ops::up::UpOutcome;
use crate::ui::Ui;

async fn made() -> Scene {
    let s = scene(&[]);
    assert_eq!(s.up(&Ui::recording(1)).await.unwrap(), UpOutcome::Created);
    // The copy helper's `du -sb /to`.
    s.fake.on_exec(|_, argv| {
        (argv.len() == 3 && argv[2].contains("cp -a /from/. /to/"))
            .then(|| ExecOutput::ok("1048576\t/to\n"))
    });
    s
}

fn wanted(s: &Scene) -> SnapshotFields {
    SnapshotFields::of(&s.plan, &s.image.id)
}

#[tokio::test(start_paused = true)]
async fn a_saved_snapshot_is_whole_and_the_cluster_runs_on() {
    let s = made().await;
    let ui = Ui::recording(1);
    let cx = Ctx::new(&s.fake, &s.plan, &ui);
    assert_eq!(save(cx, "before").await.unwrap(), 3 * 1_048_576);
    let all = named::list(cx).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].name, "before");
    assert_eq!(all[0].damage, None);
    assert_eq!(all[0].fields, Some(wanted(&s)));
    // Frozen for the copies, thawed after.
    let calls = s.fake.calls();
    let paused = calls
        .iter()
        .position(|c| c == "pause_container c-kube-master")
        .unwrap();
    let copied = calls
        .iter()
        .position(|c| c.contains("cp -a /from/. /to/"))
        .unwrap();
    let thawed = calls
        .iter()
        .position(|c| c == "unpause_container c-kube-master")
        .unwrap();
    assert!(paused < copied && copied < thawed, "{calls:#?}");
    assert!(s.fake.containers().values().all(|c| c.running && !c.paused));
    // The same name again is refused, saying how to free it.
    let err = save(cx, "before").await.unwrap_err();
    assert!(matches!(err, ClusterError::SnapshotExists { .. }), "{err}");
    assert!(err
        .to_string()
        .contains("`local-cluster snapshot rm before --cluster-name c`"));
}

#[tokio::test(start_paused = true)]
async fn a_failed_save_leaves_no_half_snapshot_and_thaws_the_nodes() {
    let s = made().await;
    let ui = Ui::recording(1);
    let cx = Ctx::new(&s.fake, &s.plan, &ui);
    s.fake
        .refuse(Op::Commit, "c-kube-node-2", ApiErrorKind::Other, 1);
    assert!(save(cx, "half").await.is_err());
    assert!(named::list(cx).await.unwrap().is_empty());
    assert!(s.fake.containers().values().all(|c| c.running && !c.paused));
}

#[tokio::test(start_paused = true)]
async fn restore_refuses_unknown_damaged_and_other_settings_before_touching_anything() {
    let s = made().await;
    let ui = Ui::recording(1);
    let cx = Ctx::new(&s.fake, &s.plan, &ui);
    save(cx, "before").await.unwrap();
    let nodes_before = s.fake.container_names();
    let err = prepare_restore(cx, "nope", &wanted(&s)).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "cluster \"c\" has no snapshot named \"nope\" (it has: before)"
    );
    let other = SnapshotFields {
        num_nodes: 5,
        ..wanted(&s)
    };
    let err = prepare_restore(cx, "before", &other).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("made for other settings than cluster \"c\" has now (numNodes 2 → 5)"),
        "{err}"
    );
    s.fake.remove_volume_now("c-kube-node-1-var.before");
    let err = prepare_restore(cx, "before", &wanted(&s))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "snapshot \"before\" of cluster \"c\" cannot be restored: the volume c-kube-node-1-var.before is missing"
    );
    assert_eq!(
        s.fake.container_names(),
        nodes_before,
        "nothing was touched"
    );
}

#[tokio::test(start_paused = true)]
async fn restore_makes_the_saved_snapshot_the_clusters_own_and_up_restores_it() {
    let s = made().await;
    let ui = Ui::recording(1);
    let cx = Ctx::new(&s.fake, &s.plan, &ui);
    save(cx, "before").await.unwrap();
    prepare_restore(cx, "before", &wanted(&s)).await.unwrap();
    assert!(s.fake.container_names().is_empty());
    let calls = s.fake.calls();
    assert!(calls.iter().any(|c| c.contains("cp -a /from/. /to/")));
    assert_eq!(s.up(&ui).await.unwrap(), UpOutcome::Restored);
    // Still listed, and removable.
    remove(cx, "before").await.unwrap();
    assert!(named::list(cx).await.unwrap().is_empty());
    let err = remove(cx, "before").await.unwrap_err();
    assert!(matches!(err, ClusterError::NoSuchSnapshot { .. }), "{err}");
}
