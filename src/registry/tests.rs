//! The registry against the fake engine: what is created, reused, remade
//! and removed, and what the nodes get.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::mirrors::MIRRORS_FILE;
use super::*;
use crate::artifacts::cache::Cache;
use crate::cluster::state::plan::ClusterPlan;
use crate::cluster::Ctx;
use crate::engine::fake::{FakeEngine, FileTree};
use crate::engine::{ContainerSpec, Containers, PublishedPort};
use crate::labels::{
    LABEL_CLUSTER, LABEL_REGISTRY, LABEL_REGISTRY_PORT, LABEL_REGISTRY_SUBNET, LABEL_ROLE,
};
use crate::settings::ImageSourceSetting;
use crate::ui::Ui;

const REGISTRY_IMAGE: &str = "kubeadm-local-cluster/registry:v3.1.2-amd64";

/// A fake engine with cluster `c` (10.250.0.0/24, one worker) running and
/// the registry image already built.
struct Scene {
    fake: FakeEngine,
    plan: ClusterPlan,
    ui: Ui,
    cache: tempfile::TempDir,
}

impl Scene {
    fn new() -> Scene {
        let plan = crate::cluster::tests::cluster_c(&[("K8S_DIND_NUM_NODES", "1")]);
        let fake = FakeEngine::new();
        fake.add_image(&[REGISTRY_IMAGE], &[], FileTree::new());
        fake.add_image(&["node:1"], &[], FileTree::new());
        fake.add_network(
            &plan.network,
            &plan.subnet.to_string(),
            &[(LABEL_CLUSTER, "c")],
        );
        Scene {
            fake,
            plan,
            ui: Ui::recording(1),
            cache: tempfile::tempdir().unwrap(),
        }
    }

    fn cx(&self) -> Ctx<'_, FakeEngine> {
        Ctx::new(&self.fake, &self.plan, &self.ui)
    }

    async fn start_nodes(&self) {
        for node in &self.plan.nodes {
            let spec = ContainerSpec {
                name: node.container.clone(),
                image: "node:1".into(),
                labels: BTreeMap::from([
                    (LABEL_CLUSTER.to_string(), "c".to_string()),
                    (LABEL_ROLE.to_string(), "node".to_string()),
                ]),
                ..Default::default()
            };
            self.fake.create_container(&spec).await.unwrap();
            self.fake.start_container(&node.container).await.unwrap();
        }
    }

    async fn ensure(&self, port: Option<u16>) -> Result<Registry> {
        let cache = Cache::new(self.cache.path());
        let image = ImagePlan {
            source: ImageSourceSetting::Build,
            cache: &cache,
        };
        ensure(self.cx(), port, &image).await
    }

    fn file(&self, container: &str, path: &str) -> Option<String> {
        self.fake.containers()[container]
            .files
            .get(path)
            .map(|(_, content)| String::from_utf8(content.clone()).unwrap())
    }

    fn count(&self, call: &str) -> usize {
        self.fake.calls().iter().filter(|c| *c == call).count()
    }
}

#[tokio::test]
async fn a_new_registry_gets_a_volume_a_fixed_address_and_the_default_port() {
    let s = Scene::new();
    s.start_nodes().await;
    let reg = s.ensure(None).await.unwrap();
    assert_eq!(
        reg,
        Registry {
            container: "c-registry".into(),
            host_port: 5001,
            ip: "10.250.0.254".parse().unwrap(),
            running: true,
        }
    );
    let c = &s.fake.containers()["c-registry"];
    assert!(c.running);
    assert_eq!(c.spec.image, REGISTRY_IMAGE);
    assert_eq!(c.spec.binds, vec!["c-registry-data:/var/lib/registry"]);
    let net = c.spec.network.as_ref().unwrap();
    assert_eq!(net.network, s.plan.network);
    assert_eq!(net.ipv4, Some("10.250.0.254".parse().unwrap()));
    assert_eq!(
        c.spec.ports,
        vec![PublishedPort {
            container_port: 5000,
            host_ip: "127.0.0.1".into(),
            host_port: 5001
        }]
    );
    assert!(c
        .spec
        .env
        .contains(&"REGISTRY_HTTP_ADDR=0.0.0.0:5000".to_string()));
    // Not the cluster's label: `down` removes what carries it.
    assert!(!c.spec.labels.contains_key(LABEL_CLUSTER));
    assert_eq!(c.spec.labels[LABEL_REGISTRY], "c");
    assert_eq!(c.spec.labels[LABEL_REGISTRY_PORT], "5001");
    assert_eq!(c.spec.labels[LABEL_REGISTRY_SUBNET], "10.250.0.0/24");
    assert_eq!(s.fake.volume_names(), vec!["c-registry-data"]);
    assert_eq!(s.file("c-registry", MIRRORS_FILE).as_deref(), Some(""));
    for node in ["c-kube-master", "c-kube-node-1"] {
        assert_eq!(
            s.file(node, "/etc/containerd/certs.d/localhost:5001/hosts.toml")
                .as_deref(),
            Some(hosts::local_hosts_toml("http://10.250.0.254:5000").as_str()),
            "{node}"
        );
    }
    // The address is published in the cluster.
    assert!(s
        .fake
        .calls()
        .iter()
        .any(|c| c.starts_with("exec c-kube-master: kubectl") && c.ends_with("apply -f -")));
}

#[tokio::test]
async fn a_running_registry_is_reused_and_a_stopped_one_started() {
    let s = Scene::new();
    s.ensure(Some(5600)).await.unwrap();
    // Without a port asked for, it keeps its own.
    let reg = s.ensure(None).await.unwrap();
    assert_eq!(reg.host_port, 5600);
    assert_eq!(s.count("create_container c-registry"), 1);
    s.fake.stop_container("c-registry", 0).await.unwrap();
    let reg = s.ensure(None).await.unwrap();
    assert_eq!(reg.host(), "localhost:5600");
    assert_eq!(s.count("create_container c-registry"), 1);
    assert_eq!(s.count("start_container c-registry"), 2);
    assert!(s.fake.containers()["c-registry"].running);
}

#[tokio::test]
async fn another_port_remakes_the_container_but_keeps_images_and_mirrors() {
    let s = Scene::new();
    s.ensure(None).await.unwrap();
    mirror(s.cx(), "registry.k8s.io").await.unwrap();
    let reg = s.ensure(Some(5002)).await.unwrap();
    assert_eq!(reg.host_port, 5002);
    assert_eq!(s.count("create_container c-registry"), 2);
    assert!(!s
        .fake
        .calls()
        .contains(&"remove_volume c-registry-data".to_string()));
    assert_eq!(
        s.fake.containers()["c-registry"].spec.labels[LABEL_REGISTRY_PORT],
        "5002"
    );
}

#[tokio::test]
async fn a_taken_port_that_was_asked_for_is_reported_naming_the_setting() {
    let s = Scene::new();
    s.fake.take_port(5600);
    let err = s.ensure(Some(5600)).await.unwrap_err();
    assert!(
        matches!(err, RegistryError::PortTaken { port: 5600, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("cluster.registryPort"), "{err}");
}

#[tokio::test]
async fn a_taken_default_port_moves_a_new_registry_to_the_next_free_one() {
    let s = Scene::new();
    s.start_nodes().await;
    // Another cluster's registry, and another program.
    s.fake.take_port(5001);
    s.fake.take_port(5002);
    let reg = s.ensure(None).await.unwrap();
    assert_eq!(reg.host_port, 5003);
    let c = &s.fake.containers()["c-registry"];
    assert!(c.running);
    assert_eq!(c.spec.labels[LABEL_REGISTRY_PORT], "5003");
    assert!(s
        .file(
            "c-kube-master",
            "/etc/containerd/certs.d/localhost:5003/hosts.toml"
        )
        .is_some());
    // Kept there afterwards.
    assert_eq!(s.ensure(None).await.unwrap().host_port, 5003);
}

#[tokio::test]
async fn mirrors_reach_running_nodes_and_are_remembered_for_later_ones() {
    let s = Scene::new();
    s.ensure(None).await.unwrap();
    // No node runs yet: only recorded.
    mirror(s.cx(), "registry.k8s.io").await.unwrap();
    mirror(s.cx(), "registry.k8s.io").await.unwrap();
    assert_eq!(
        s.file("c-registry", MIRRORS_FILE).as_deref(),
        Some("registry.k8s.io\n")
    );
    // Nodes made later (`up`, or a snapshot restore) get every file.
    s.start_nodes().await;
    after_up(s.cx()).await;
    let text = s
        .file(
            "c-kube-node-1",
            "/etc/containerd/certs.d/registry.k8s.io/hosts.toml",
        )
        .expect("mirror file");
    assert_eq!(
        text,
        hosts::mirror_hosts_toml("registry.k8s.io", "http://10.250.0.254:5000")
    );
    assert!(s
        .file(
            "c-kube-node-1",
            "/etc/containerd/certs.d/localhost:5001/hosts.toml"
        )
        .is_some());
    let err = mirror(s.cx(), "not a host").await.unwrap_err();
    assert!(matches!(err, RegistryError::BadUpstream { .. }), "{err:?}");
}

#[tokio::test]
async fn without_a_registry_up_changes_nothing_and_mirroring_says_how_to_start_one() {
    let s = Scene::new();
    s.start_nodes().await;
    after_up(s.cx()).await;
    assert!(!s.fake.container_names().contains(&"c-registry".to_string()));
    assert!(s
        .file(
            "c-kube-master",
            "/etc/containerd/certs.d/localhost:5001/hosts.toml"
        )
        .is_none());
    let err = mirror(s.cx(), "registry.k8s.io").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "cluster \"c\" has no local registry; start one with `local-cluster registry --cluster-name c`"
    );
}

#[tokio::test]
async fn down_keeps_the_registry_and_clean_removes_it() {
    let s = Scene::new();
    s.start_nodes().await;
    s.ensure(None).await.unwrap();
    crate::ops::lifecycle::down(s.cx()).await.unwrap();
    assert_eq!(s.fake.container_names(), vec!["c-registry"]);
    assert!(s
        .fake
        .volume_names()
        .contains(&"c-registry-data".to_string()));
    crate::ops::lifecycle::clean(s.cx()).await.unwrap();
    assert!(s.fake.container_names().is_empty());
    assert!(s.fake.volume_names().is_empty());
    assert!(s.fake.network_names().is_empty());
}

#[tokio::test]
async fn a_registry_made_for_another_subnet_lets_go_of_the_network_and_is_remade() {
    let s = Scene::new();
    s.ensure(Some(5700)).await.unwrap();
    let moved = crate::cluster::tests::cluster_c(&[
        ("K8S_DIND_NUM_NODES", "1"),
        ("K8S_DIND_DIND_SUBNET", "10.251.0.0/24"),
    ]);
    let cx = Ctx::new(&s.fake, &moved, &s.ui);
    before_network(cx).await;
    assert!(!s.fake.containers()["c-registry"].running);
    after_up(cx).await;
    let c = &s.fake.containers()["c-registry"];
    assert!(c.running);
    assert_eq!(
        c.spec.network.as_ref().unwrap().ipv4,
        Some("10.251.0.254".parse().unwrap())
    );
    assert_eq!(c.spec.labels[LABEL_REGISTRY_PORT], "5700");
}

#[tokio::test]
async fn pushes_tag_push_and_untag_through_the_engine() {
    let s = Scene::new();
    let reg = s.ensure(None).await.unwrap();
    s.fake.add_image(&["myapp:dev"], &[], FileTree::new());
    let pushed = push(s.cx(), &["myapp:dev".to_string()]).await.unwrap();
    assert_eq!(pushed, vec!["localhost:5001/myapp:dev"]);
    let calls = s.fake.calls();
    let from = calls
        .iter()
        .position(|c| c.starts_with("tag_image"))
        .unwrap();
    assert_eq!(
        calls[from..],
        [
            "tag_image myapp:dev localhost:5001/myapp:dev",
            "push_image localhost:5001/myapp:dev",
            "remove_image localhost:5001/myapp:dev",
        ]
    );
    let err = push_images(s.cx(), &reg, &["missing:1".to_string()])
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "image missing:1 is not in the Docker engine; build or pull it first"
    );
}

#[tokio::test]
async fn an_archive_must_hold_the_names_asked_for() {
    use crate::images::archive::ImageSpec;
    use crate::images::layer::LayerBuilder;
    let s = Scene::new();
    let reg = s.ensure(None).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut l = LayerBuilder::create(&dir.path().join("l.tar.gz")).unwrap();
    l.file("kitten", 0o644, b"meow").unwrap();
    let archive = dir.path().join("kitten.tar");
    ImageSpec {
        references: vec!["registry.k8s.io/e2e-test-images/kitten:1.8".into()],
        arch: "amd64".into(),
        config: Default::default(),
        layers: vec![l.finish().unwrap()],
    }
    .write_archive(&archive)
    .unwrap();
    assert_eq!(
        archive_references(&archive).unwrap(),
        vec!["registry.k8s.io/e2e-test-images/kitten:1.8"]
    );
    let err = push_archive(s.cx(), &reg, &archive, &["registry.k8s.io/other:1".into()])
        .await
        .unwrap_err();
    assert!(
        err.to_string().ends_with(
            "holds no image named registry.k8s.io/other:1 (it holds: \
             registry.k8s.io/e2e-test-images/kitten:1.8)"
        ),
        "{err}"
    );
    // The fake engine's load adds nothing; stand in for it.
    s.fake.add_image(
        &["registry.k8s.io/e2e-test-images/kitten:1.8"],
        &[],
        FileTree::new(),
    );
    let pushed = push_archive(s.cx(), &reg, &archive, &[]).await.unwrap();
    assert_eq!(pushed, vec!["localhost:5001/e2e-test-images/kitten:1.8"]);
    assert!(s.fake.calls().contains(&"load_image".to_string()));
    assert!(s
        .fake
        .calls()
        .contains(&"push_image localhost:5001/e2e-test-images/kitten:1.8".to_string()));
}

#[test]
fn the_registry_takes_the_last_address_of_the_subnet() {
    let plan = crate::cluster::tests::plan(&[]);
    let reg = RegistryPlan::new(&plan, None);
    assert_eq!(reg.container, "registry");
    assert_eq!(reg.volume, "registry-data");
    assert_eq!(reg.ip, "10.192.255.254".parse::<Ipv4Addr>().unwrap());
    assert!(reg.check_address(&plan).is_ok());
    // A /29 holds the gateway, the master and four workers: .2 to .6 are
    // nodes, and .6 is also the last host address.
    let full = crate::cluster::tests::plan(&[
        ("K8S_DIND_DIND_SUBNET", "10.9.0.0/29"),
        ("K8S_DIND_NUM_NODES", "4"),
    ]);
    let err = RegistryPlan::new(&full, None)
        .check_address(&full)
        .unwrap_err();
    assert!(err.to_string().contains("10.9.0.6"), "{err}");
}
