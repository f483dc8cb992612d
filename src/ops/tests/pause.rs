//! `pause` and `unpause` against the fake engine, and `up` and `down` on a
//! paused cluster.

use super::scene::*;
use crate::cluster::state::health::{Condition, NodeState};
use crate::cluster::steps::health;
use crate::cluster::{ClusterError, Ctx};
use crate::engine::ContainerState;
use crate::ops::pause::{pause, unpause, Outcome};
use crate::ops::up::UpOutcome;
use crate::ui::Ui;

async fn made() -> (Scene, Ui) {
    let s = scene(&[]);
    let ui = Ui::recording(1);
    assert_eq!(s.up(&ui).await.unwrap(), UpOutcome::Created);
    (s, ui)
}

async fn states(s: &Scene, ui: &Ui) -> Vec<ContainerState> {
    Ctx::new(&s.fake, &s.plan, ui)
        .node_states()
        .await
        .unwrap()
        .into_values()
        .collect()
}

#[tokio::test(start_paused = true)]
async fn pause_freezes_every_node_and_unpause_thaws_them_and_waits() {
    let (s, ui) = made().await;
    let cx = Ctx::new(&s.fake, &s.plan, &ui);
    assert_eq!(pause(cx).await.unwrap(), Outcome::Done);
    assert_eq!(states(&s, &ui).await, [ContainerState::Paused; 3]);
    let found = health::inspect(cx).await.unwrap();
    assert_eq!(found.condition(), Condition::Paused);
    assert!(found.nodes.iter().all(|(_, n)| *n == NodeState::Paused));
    // Again: nothing to do, and said so.
    assert_eq!(pause(cx).await.unwrap(), Outcome::AlreadySo);
    let calls = s.fake.calls().len();
    assert_eq!(unpause(cx).await.unwrap(), Outcome::Done);
    assert_eq!(states(&s, &ui).await, [ContainerState::Running; 3]);
    let after = &s.fake.calls()[calls..];
    for node in ["c-kube-master", "c-kube-node-1", "c-kube-node-2"] {
        let restart = format!("exec {node}: systemctl restart kubelet");
        assert!(after.contains(&restart), "{after:#?}");
    }
    // Then each kubelet is asked, from the master, whether it serves its pods.
    let asked = after.iter().filter(|c| c.contains(":10250/pods")).count();
    assert_eq!(asked, 3, "{after:#?}");
    assert_eq!(unpause(cx).await.unwrap(), Outcome::AlreadySo);
    let said = format!("{:#?}", ui.events());
    assert!(
        said.contains("is paused already; nothing changed"),
        "{said}"
    );
    assert!(said.contains("is not paused; nothing changed"), "{said}");
    assert!(said.contains("is running again (unpaused in"), "{said}");
}

#[tokio::test(start_paused = true)]
async fn pausing_a_cluster_that_is_not_there_is_an_error() {
    let s = scene(&[]);
    let ui = Ui::recording(1);
    let err = pause(Ctx::new(&s.fake, &s.plan, &ui)).await.unwrap_err();
    assert!(matches!(err, ClusterError::NotRunning { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "cluster \"c\" is not running; run `local-cluster up --cluster-name c` first"
    );
}

#[tokio::test(start_paused = true)]
async fn up_thaws_a_paused_cluster_and_changes_nothing_else() {
    let (s, ui) = made().await;
    pause(Ctx::new(&s.fake, &s.plan, &ui)).await.unwrap();
    let calls = s.fake.calls().len();
    assert_eq!(s.up(&ui).await.unwrap(), UpOutcome::Unpaused);
    assert_eq!(states(&s, &ui).await, [ContainerState::Running; 3]);
    let after = &s.fake.calls()[calls..];
    assert!(
        !after
            .iter()
            .any(|c| c.starts_with("create") || c.starts_with("remove")),
        "{after:#?}"
    );
}

#[tokio::test(start_paused = true)]
async fn down_removes_a_paused_cluster_and_keeps_its_snapshot() {
    let (s, ui) = made().await;
    pause(Ctx::new(&s.fake, &s.plan, &ui)).await.unwrap();
    s.down().await;
    assert!(s.fake.container_names().is_empty());
    assert_eq!(s.up(&ui).await.unwrap(), UpOutcome::Restored);
}
