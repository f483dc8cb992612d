//! `load` against the fake engine: what a node's import reports becomes an
//! error that names the image and the node's architecture.

use super::scene::*;
use crate::cluster::steps::node_ops::NodeOp;
use crate::cluster::{ClusterError, Ctx};
use crate::engine::fake::FileTree;
use crate::engine::ExecOutput;
use crate::ops::load::{load_images, LoadRequest};
use crate::ui::Ui;

const APP: &str = "local-test/app:1";

async fn running_scene_with_app() -> Scene {
    let s = scene(&[]);
    s.up(&Ui::recording(1)).await.unwrap();
    s.fake.add_image(&[APP], &[], FileTree::new());
    s
}

async fn load(s: &Scene, request: &LoadRequest) -> Result<(), ClusterError> {
    let ui = Ui::recording(1);
    let none: Option<&crate::engine::fake::FakeEngine> = None;
    load_images(Ctx::new(&s.fake, &s.plan, &ui), request, none).await
}

/// `load` of the image [`APP`].
async fn load_app(s: &Scene) -> Result<(), ClusterError> {
    let request = LoadRequest {
        images: vec![APP.to_string()],
        ..Default::default()
    };
    load(s, &request).await
}

/// Nodes whose import finds nothing for their platform (machine `machine`)
/// in the first archive, as the import script reports it.
fn import_finds_nothing_for(s: &Scene, machine: &'static str) {
    s.fake
        .on_op(NodeOp::ImportImages.name(), move |_| ExecOutput {
            exit_code: 3,
            stdout: format!("no-image-for-platform 0.tar {machine}\n").into_bytes(),
            stderr: Vec::new(),
        });
}

#[tokio::test(start_paused = true)]
async fn every_running_node_imports_the_saved_images() {
    let s = running_scene_with_app().await;
    load_app(&s).await.unwrap();
    assert_eq!(s.ran("import"), NODES.len());
}

#[tokio::test(start_paused = true)]
async fn an_image_for_another_architecture_is_named_with_the_nodes_machine() {
    let s = running_scene_with_app().await;
    import_finds_nothing_for(&s, "aarch64");
    let err = load_app(&s).await.unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(&err, ClusterError::NoImageForPlatform { images, machine, .. }
            if images == &[APP.to_string()] && machine == "aarch64"),
        "{err:?}"
    );
    assert!(
        message.starts_with(&format!(
            "image {APP} has nothing for the architecture of c-kube-"
        )),
        "{message}"
    );
    assert!(message.contains("(aarch64)"), "{message}");
}

#[tokio::test(start_paused = true)]
async fn an_archive_without_an_image_for_the_nodes_is_named_by_its_path() {
    let s = running_scene_with_app().await;
    import_finds_nothing_for(&s, "armv7l");
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("app.tar");
    std::fs::write(&archive, b"not read by the fake").unwrap();
    let request = LoadRequest {
        archives: vec![archive.clone()],
        ..Default::default()
    };
    let message = load(&s, &request).await.unwrap_err().to_string();
    assert!(
        message.starts_with(&format!("the archive {} has nothing", archive.display())),
        "{message}"
    );
}

#[tokio::test(start_paused = true)]
async fn another_import_failure_keeps_containerds_words() {
    let s = running_scene_with_app().await;
    s.fake.on_op(NodeOp::ImportImages.name(), |_| {
        ExecOutput::failed(1, "ctr: content digest sha256:abc: not found")
    });
    let err = load_app(&s).await.unwrap_err();
    assert!(matches!(err, ClusterError::ImportImages { .. }), "{err:?}");
    let chain = crate::error::chain(&err);
    assert!(
        chain.contains("content digest sha256:abc: not found"),
        "{chain}"
    );
}
