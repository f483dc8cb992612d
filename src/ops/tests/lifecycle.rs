//! `up`, `down` and `clean` against the fake engine: every path `up` can
//! take, each in milliseconds.

use super::scene::*;
use crate::cluster::state::plan::ClusterPlan;
use crate::cluster::steps::node_ops::NodeOp;
use crate::cluster::tests::cluster_c;
use crate::cluster::{ClusterError, Ctx};
use crate::engine::fake::{FileTree, Op};
use crate::engine::{ApiErrorKind, ExecOutput, Images};
use crate::labels::{LABEL_CLUSTER, LABEL_ROLE, ROLE_NODE};
use crate::ops::lifecycle;
use crate::ops::up::UpOutcome;
use crate::ui::{Event, Ui};

#[tokio::test(start_paused = true)]
async fn a_fresh_cluster_is_made_step_by_step_and_snapshotted() {
    let s = scene(&[]);
    let ui = Ui::recording(1);
    assert_eq!(s.up(&ui).await.unwrap(), UpOutcome::Created);
    let steps: Vec<String> = ui
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::StepDone(t) => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(
        steps,
        [
            "Preparing network k8s-kubeadm-local-cluster-c (10.250.0.0/24)",
            "Starting 3 node containers",
            "Initializing the control plane on kube-master (kubeadm init)",
            "Writing admin.conf and kubectl",
            "Installing the pod network (bridge)",
            "Joining 2 workers (kubeadm join)",
            "Waiting for nodes, kube-proxy and CoreDNS",
            "Saving a snapshot for fast restarts",
        ]
    );
    assert_eq!(s.fake.container_names(), NODES);
    assert_eq!(
        s.fake.volume_names(),
        NODES.map(|n| format!("{n}-var")).to_vec()
    );
    assert_eq!(s.fake.network_names(), ["k8s-kubeadm-local-cluster-c"]);
    assert_eq!(s.ran("init"), 1);
    assert_eq!(s.ran("join"), 2);
    // The engine refused nothing: the nodes run privileged.
    assert!(s.fake.containers()["c-kube-master"].spec.privileged);
    let master = &s.fake.containers()["c-kube-master"];
    assert!(master
        .files
        .contains_key("/etc/kubeadm-local-cluster/kubeadm.yaml"));
    assert_eq!(s.snapshot_images().len(), 3);
    let port = s.master_port();
    assert!(
        s.admin_conf()
            .contains(&format!("server: https://127.0.0.1:{port}")),
        "{}",
        s.admin_conf()
    );
    assert!(s.plan.kubectl_path().exists());
    // Up again: nothing changes.
    let ui = Ui::recording(1);
    assert_eq!(s.up(&ui).await.unwrap(), UpOutcome::AlreadyRunning);
    assert!(texts(&ui.events()).contains("already running"));
    assert_eq!(s.ran("init"), 1);
}

#[tokio::test(start_paused = true)]
async fn engines_that_refuse_privileged_get_capability_nodes() {
    let s = scene(&[]);
    s.fake.refuse_privileged();
    s.up(&Ui::recording(1)).await.unwrap();
    let master = &s.fake.containers()["c-kube-master"];
    assert!(!master.spec.privileged);
    assert_eq!(master.spec.cap_drop, ["SYS_RESOURCE"]);
    // The probe container is gone.
    assert_eq!(s.fake.container_names(), NODES);
}

/// The published ports of each node container: (container port, host address).
fn published(s: &Scene) -> Vec<(String, Vec<(u16, String)>)> {
    s.fake
        .containers()
        .into_iter()
        .map(|(name, c)| {
            let ports = c
                .spec
                .ports
                .iter()
                .map(|p| (p.container_port, p.host_ip.clone()))
                .collect();
            (name, ports)
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_local_engine_publishes_the_api_server_on_loopback_only() {
    let s = scene(&[]);
    s.up(&Ui::recording(1)).await.unwrap();
    assert_eq!(
        published(&s),
        vec![
            (
                "c-kube-master".to_string(),
                vec![(6443, "127.0.0.1".to_string())]
            ),
            ("c-kube-node-1".to_string(), vec![]),
            ("c-kube-node-2".to_string(), vec![]),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_remote_engine_publishes_the_api_server_on_its_own_address() {
    let mut s = scene(&[]);
    s.fake.set_endpoint(crate::engine::Endpoint {
        host: "tcp://10.1.2.3:2376".into(),
        tls_dir: None,
        origin: "DOCKER_HOST".into(),
        ssh_hostname: None,
    });
    s.up(&Ui::recording(1)).await.unwrap();
    let ports = published(&s);
    assert_eq!(
        ports[0],
        (
            "c-kube-master".to_string(),
            vec![(6443, "10.1.2.3".to_string())]
        )
    );
    assert!(ports[1..].iter().all(|(_, p)| p.is_empty()), "{ports:?}");
    let port = s.master_port();
    assert!(s
        .admin_conf()
        .contains(&format!("server: https://10.1.2.3:{port}\n")));
}

#[tokio::test(start_paused = true)]
async fn admin_conf_and_the_home_directory_are_private() {
    use crate::private::tests::mode;
    use std::os::unix::fs::PermissionsExt;
    let s = scene(&[]);
    // As an older version left it: open to all.
    std::fs::create_dir_all(&s.plan.home_dir).unwrap();
    std::fs::set_permissions(&s.plan.home_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    s.up(&Ui::recording(1)).await.unwrap();
    assert_eq!(mode(&s.plan.home_dir), 0o700);
    assert_eq!(mode(&s.plan.admin_conf()), 0o600);
    assert_eq!(mode(&s.plan.home_dir.join("kubectl.version")), 0o600);
    assert_eq!(mode(&s.plan.kubectl_path()), 0o755);
}

#[tokio::test(start_paused = true)]
async fn down_keeps_the_snapshot_and_up_restores_it() {
    let s = Scene::made_and_down(&[]).await;
    assert!(s.fake.container_names().is_empty());
    assert_eq!(s.fake.volume_names().len(), 3);
    let port = s.master_port_from_snapshot();
    let ui = Ui::recording(1);
    assert_eq!(s.up(&ui).await.unwrap(), UpOutcome::Restored);
    let events = ui.events();
    assert!(
        has(
            &events,
            &Event::Info("Restoring cluster \"c\" from its snapshot.".into())
        ),
        "{}",
        texts(&events)
    );
    // Nothing was installed again; each node runs its snapshot, on the
    // port admin.conf already names.
    assert_eq!(s.ran("init"), 1);
    for node in ["kube-master", "kube-node-1", "kube-node-2"] {
        let spec = &s.fake.containers()[&format!("c-{node}")].spec;
        assert_eq!(
            spec.image,
            format!("kubeadm-local-cluster/snapshot-c:{node}")
        );
        // The nodes find each other by name without the engine's DNS.
        assert_eq!(
            spec.extra_hosts,
            [
                "kube-master:10.250.0.2",
                "kube-node-1:10.250.0.3",
                "kube-node-2:10.250.0.4"
            ]
        );
    }
    assert_eq!(s.master_port(), port);
    assert!(s.admin_conf().contains(&format!(":{port}\n")));
}

impl Scene {
    fn master_port_from_snapshot(&self) -> u16 {
        let image = self
            .fake
            .images()
            .into_iter()
            .find(|i| i.tags.iter().any(|t| t.ends_with(":kube-master")))
            .unwrap();
        image.labels["io.kubeadm-local-cluster.apiserver-port"]
            .parse()
            .unwrap()
    }
}

/// A restore killed while creating the nodes: the engine finishes the
/// killed command's create after the next `up` listed the containers, so
/// that `up` meets the name in use. It removes that leftover of its own
/// cluster and restores (found by the reliability tier, 2026-12-06).
#[tokio::test(start_paused = true)]
async fn a_node_container_the_engine_finished_for_a_killed_up_is_replaced() {
    let s = Scene::made_and_down(&[]).await;
    let leftover = crate::engine::ContainerSpec {
        name: "c-kube-master".into(),
        image: "kubeadm-local-cluster/snapshot-c:kube-master".into(),
        labels: [
            (LABEL_CLUSTER.to_string(), "c".to_string()),
            (LABEL_ROLE.to_string(), ROLE_NODE.to_string()),
        ]
        .into(),
        ..Default::default()
    };
    s.fake.create_late(leftover);
    let ui = Ui::recording(1);
    assert_eq!(s.up(&ui).await.unwrap(), UpOutcome::Restored);
    let events = texts(&ui.events());
    assert!(
        events.contains("kube-master: removing the container an interrupted command left"),
        "{events}"
    );
    assert!(s.fake.containers()["c-kube-master"].running);

    // A foreign container of that name is left alone: the restore fails
    // (and a new cluster cannot be made either).
    s.fake.stop("c-kube-master");
    let s = Scene::made_and_down(&[]).await;
    s.fake.create_late(crate::engine::ContainerSpec {
        name: "c-kube-master".into(),
        image: NODE_IMAGE.into(),
        ..Default::default()
    });
    assert!(s.up(&Ui::recording(1)).await.is_err());
    let kept = &s.fake.containers()["c-kube-master"];
    assert!(
        !kept.spec.labels.contains_key(LABEL_CLUSTER),
        "{:?}",
        kept.spec.labels
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_restore_makes_a_new_cluster() {
    let s = Scene::made_and_down(&[]).await;
    s.fake
        .refuse(Op::StartContainer, "c-kube-node-2", ApiErrorKind::Other, 1);
    let ui = Ui::recording(1);
    assert_eq!(s.up(&ui).await.unwrap(), UpOutcome::Created);
    let events = texts(&ui.events());
    assert!(
        events.contains("restoring cluster \\\"c\\\" from its snapshot failed")
            && events.contains("making a new cluster"),
        "{events}"
    );
    assert_eq!(s.ran("init"), 2);
    assert_eq!(s.fake.containers()["c-kube-master"].spec.image, NODE_IMAGE);
    assert_eq!(s.snapshot_images().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_snapshot_for_other_settings_is_replaced_saying_why() {
    let s = Scene::made_and_down(&[]).await;
    let fewer = Scene {
        plan: cluster_c_with_home(&s, &[("K8S_DIND_NUM_NODES", "1")]),
        ..s
    };
    let ui = Ui::recording(1);
    assert_eq!(fewer.up(&ui).await.unwrap(), UpOutcome::Created);
    assert!(has(
        &ui.events(),
        &Event::Info(
            "The snapshot of cluster \"c\" was made for other settings (numNodes 2 → 1); making a new one."
                .into()
        )
    ));
    assert_eq!(fewer.fake.container_names(), NODES[..2]);
    assert_eq!(fewer.snapshot_images().len(), 2);
    assert_eq!(fewer.fake.volume_names().len(), 2);
}

/// The plan of `scene`'s cluster with other settings, same home.
fn cluster_c_with_home(s: &Scene, env: &[(&str, &str)]) -> ClusterPlan {
    let mut plan = cluster_c(env);
    plan.home_dir = s.plan.home_dir.clone();
    plan
}

#[tokio::test(start_paused = true)]
async fn a_damaged_snapshot_is_replaced_saying_what_is_missing() {
    let s = Scene::made_and_down(&[]).await;
    s.fake.remove_volume_now("c-kube-node-1-var");
    let ui = Ui::recording(1);
    assert_eq!(s.up(&ui).await.unwrap(), UpOutcome::Created);
    assert!(has(
        &ui.events(),
        &Event::Warning(
            "the snapshot of cluster \"c\" is damaged (the volume c-kube-node-1-var is missing); making a new cluster"
                .into()
        )
    ));
    assert_eq!(s.fake.volume_names().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_taken_snapshot_port_gives_way_to_a_free_one() {
    let s = Scene::made_and_down(&[]).await;
    let old = s.master_port_from_snapshot();
    s.fake.take_port(old);
    let ui = Ui::recording(2);
    assert_eq!(s.up(&ui).await.unwrap(), UpOutcome::Restored);
    let new = s.master_port();
    assert_ne!(new, old);
    assert!(s.admin_conf().contains(&format!(":{new}\n")));
    assert!(texts(&ui.events()).contains("starting with a new API server port"));
}

#[tokio::test(start_paused = true)]
async fn a_port_the_settings_name_is_not_swapped_for_another() {
    let s = scene(&[("K8S_DIND_APISERVER_PORT", "45678")]);
    s.fake.take_port(45678);
    let err = s.up(&Ui::recording(1)).await.unwrap_err();
    assert!(
        matches!(err, ClusterError::ApiPortTaken { port: 45678, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "host port 127.0.0.1:45678 for the API server is taken by another program; set another \
         cluster.apiServerPort, or none to get a free one"
    );
}

#[tokio::test(start_paused = true)]
async fn stopped_nodes_after_an_engine_restart_are_restored() {
    let s = scene(&[]);
    s.up(&Ui::recording(1)).await.unwrap();
    for node in NODES {
        s.fake.stop(node);
    }
    let ui = Ui::recording(2);
    assert_eq!(s.up(&ui).await.unwrap(), UpOutcome::Restored);
    let events = texts(&ui.events());
    assert!(
        events.contains("its nodes were restarted under it"),
        "{events}"
    );
    assert!(s.fake.containers().values().all(|c| c.running));
    assert_eq!(s.ran("init"), 1);
}

#[tokio::test(start_paused = true)]
async fn a_foreign_network_of_the_same_name_is_refused_before_anything_is_made() {
    let s = scene(&[]);
    s.fake
        .add_network("k8s-kubeadm-local-cluster-c", "10.250.0.0/24", &[]);
    let err = s.up(&Ui::recording(1)).await.unwrap_err();
    assert!(
        matches!(err, ClusterError::ForeignNetwork { .. }),
        "{err:?}"
    );
    assert!(s.fake.container_names().is_empty());
    assert!(s.fake.volume_names().is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_overlapping_subnet_is_refused_before_anything_is_made() {
    let s = scene(&[]);
    s.fake
        .add_network("lab", "10.250.0.0/16", &[(LABEL_CLUSTER, "other")]);
    let err = s.up(&Ui::recording(1)).await.unwrap_err();
    assert!(matches!(err, ClusterError::SubnetOverlap { .. }), "{err:?}");
    assert!(err
        .to_string()
        .contains("overlaps the subnet 10.250.0.0/16"));
    assert!(s.fake.container_names().is_empty());
    assert_eq!(s.fake.network_names(), ["lab"]);
}

#[tokio::test(start_paused = true)]
async fn a_node_that_stops_while_booting_fails_up_at_once_with_its_log() {
    let s = scene(&[]);
    // The boot check never succeeds; the node's container exits meanwhile.
    s.fake.on_op(NodeOp::BootCheck.name(), |_| {
        ExecOutput::failed(1, "systemd: starting")
    });
    let stopper = async {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        s.fake.stop("c-kube-node-1");
    };
    let ui = Ui::recording(1);
    let (result, ()) = tokio::join!(s.up(&ui), stopper);
    let err = result.unwrap_err();
    assert!(
        matches!(&err, ClusterError::NodeStopped { container, .. } if container == "c-kube-node-1"),
        "{err:?}"
    );
    assert!(err.to_string().contains("(log of c-kube-node-1)"));
}

#[tokio::test(start_paused = true)]
async fn down_without_a_snapshot_removes_the_volumes_too_and_clean_everything() {
    let s = scene(&[]);
    s.up(&Ui::recording(1)).await.unwrap();
    // With the snapshot complete, down keeps the volumes.
    s.down().await;
    assert_eq!(s.fake.volume_names().len(), 3);
    let ui = Ui::recording(1);
    lifecycle::down(Ctx::new(&s.fake, &s.plan, &ui))
        .await
        .unwrap();
    assert!(texts(&ui.events()).contains("is not running; nothing to do"));

    // Without the snapshot's images the volumes are of no use.
    s.up(&Ui::recording(1)).await.unwrap();
    for image in s.snapshot_images() {
        s.fake
            .remove_image(&image, crate::engine::RemoveImage::Force)
            .await
            .unwrap();
    }
    s.down().await;
    assert!(s.fake.volume_names().is_empty());

    s.up(&Ui::recording(1)).await.unwrap();
    lifecycle::clean(Ctx::new(&s.fake, &s.plan, &Ui::recording(1)))
        .await
        .unwrap();
    assert!(s.fake.container_names().is_empty());
    assert!(s.fake.volume_names().is_empty());
    assert!(s.fake.network_names().is_empty());
    assert!(s.snapshot_images().is_empty());
    assert!(!s.plan.admin_conf().exists());
    assert!(!s.plan.kubectl_path().exists());
    // The node image stays.
    assert_eq!(s.fake.images().len(), 1);
}

mod damaged;
mod repair;

#[tokio::test(start_paused = true)]
async fn a_snapshot_the_engine_has_no_room_for_fails_naming_its_disk_and_leaves_none() {
    let s = scene(&[]);
    // The other nodes' commits succeed first: a partial snapshot.
    s.fake
        .refuse(Op::Commit, "c-kube-node-2", ApiErrorKind::NoSpace, 1);
    let ui = Ui::recording(1);
    let err = s.up(&ui).await.unwrap_err();
    let text = crate::error::chain(&err);
    assert!(
        text.starts_with(
            "the Docker engine at unix:///var/run/docker.sock (from fake) ran out of \
             space (its data root /var/lib/docker) while saving the snapshot of kube-node-2; \
             the cluster runs, without a snapshot"
        ),
        "{text}"
    );
    assert!(text.contains("no space left on device"), "{text}");
    assert_eq!(s.snapshot_images(), Vec::<String>::new());
    // Nothing to restore from: the next cluster is made anew, with a snapshot.
    s.down().await;
    assert_eq!(s.up(&Ui::recording(1)).await.unwrap(), UpOutcome::Created);
    assert_eq!(s.snapshot_images().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_snapshot_refused_for_another_reason_says_so_without_blaming_the_disk() {
    let s = scene(&[]);
    s.fake
        .refuse(Op::Commit, "c-kube-node-1", ApiErrorKind::Other, 1);
    let err = s.up(&Ui::recording(1)).await.unwrap_err();
    let text = crate::error::chain(&err);
    assert!(text.starts_with("snapshotting kube-node-1"), "{text}");
    assert!(!text.contains("space"), "{text}");
    assert_eq!(s.snapshot_images(), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn a_running_cluster_is_not_broken_for_settings_with_more_nodes() {
    let s = scene(&[]);
    s.up(&Ui::recording(1)).await.unwrap();
    let more = Scene {
        plan: cluster_c_with_home(&s, &[("K8S_DIND_NUM_NODES", "3")]),
        ..s
    };
    let ui = Ui::recording(1);
    assert_eq!(more.up(&ui).await.unwrap(), UpOutcome::AlreadyRunning);
    assert!(texts(&ui.events()).contains("already running"));
}
