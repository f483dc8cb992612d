//! Addon preparation against a local HTTP server that serves manifests and
//! answers as a registry, with an engine that cannot pull.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::artifacts::cache::Cache;
use crate::engine::fake::FakeEngine;
use crate::settings::ImageSourceSetting;
use crate::ui::{Event, Ui};

const APP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n";

/// Serves `/headlamp.yaml` (naming an image of this server), `/app.yaml`
/// and a registry's `/v2/` (401, as to anonymous clients); 404 otherwise.
async fn serve() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let n = conn.read(&mut buf).await.unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).to_string();
            let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
            let (status, body) = match path.as_str() {
                "/headlamp.yaml" => (
                    "200 OK",
                    format!(
                        "kind: Deployment\nspec:\n      containers:\n      - name: headlamp\n        image: 127.0.0.1:{port}/headlamp-k8s/headlamp:latest\n"
                    ),
                ),
                "/app.yaml" => ("200 OK", APP.to_string()),
                "/v2/" => ("401 Unauthorized", String::new()),
                _ => ("404 Not Found", String::new()),
            };
            let reply = format!(
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = conn.write_all(reply.as_bytes()).await;
        }
    });
    port
}

/// The engine (which cannot pull), output and cache a test prepares with.
struct Scene {
    engine: FakeEngine,
    ui: Ui,
    cache: Cache,
    _dir: tempfile::TempDir,
}

impl Scene {
    fn new() -> Scene {
        let dir = tempfile::tempdir().unwrap();
        Scene {
            engine: FakeEngine::new(),
            ui: Ui::recording(1),
            cache: Cache::new(dir.path()),
            _dir: dir,
        }
    }

    fn inputs<'a>(
        &'a self,
        image_source: ImageSourceSetting,
        headlamp: &'a str,
    ) -> Inputs<'a, FakeEngine> {
        Inputs {
            build: BuildContext {
                engine: &self.engine,
                ui: &self.ui,
                cache: &self.cache,
                arch: "amd64",
                image_source,
                debian_mirror: "http://deb.invalid/debian",
            },
            headlamp_manifest: headlamp,
        }
    }
}

fn warnings(ui: &Ui) -> Vec<String> {
    ui.events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Warning(w) => Some(w),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_dashboard_is_left_out_with_one_warning_when_its_image_cannot_be_pulled() {
    let port = serve().await;
    let scene = Scene::new();
    let manifest = format!("http://127.0.0.1:{port}/headlamp.yaml");
    let inputs = scene.inputs(ImageSourceSetting::Auto, &manifest);
    let app = format!("http://127.0.0.1:{port}/app.yaml");
    let addons = [Addon::Named(NamedAddon::Dashboard), Addon::Url(app.clone())];
    let ready = prepare(&addons, &inputs).await.unwrap();
    // The URL addon is there, as served; the dashboard is not.
    assert_eq!(ready.len(), 1);
    assert_eq!(ready[0].name, app);
    assert!(matches!(&ready[0].manifest, Manifest::Text(t) if t == APP));
    let warned = warnings(&scene.ui);
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(
        warned[0].starts_with(&format!(
            "addon dashboard is left out: its image 127.0.0.1:{port}/headlamp-k8s/headlamp:v0.40.0 could not be pulled ("
        )),
        "{warned:?}"
    );
    assert!(warned[0].contains("no registry"), "{warned:?}");
}

#[tokio::test]
async fn the_dashboard_is_not_pulled_when_images_are_to_be_built() {
    let port = serve().await;
    let scene = Scene::new();
    let manifest = format!("http://127.0.0.1:{port}/headlamp.yaml");
    let inputs = scene.inputs(ImageSourceSetting::Build, &manifest);
    let ready = prepare(&[Addon::Named(NamedAddon::Dashboard)], &inputs)
        .await
        .unwrap();
    assert!(ready.is_empty());
    let warned = warnings(&scene.ui);
    assert!(
        warned.len() == 1 && warned[0].contains("cannot be built here"),
        "{warned:?}"
    );
    // A manifest that cannot be fetched is a warning too.
    let closed = format!("http://127.0.0.1:{port}/missing.yaml");
    let inputs = Inputs {
        headlamp_manifest: &closed,
        ..inputs
    };
    let ready = prepare(&[Addon::Named(NamedAddon::Dashboard)], &inputs)
        .await
        .unwrap();
    assert!(ready.is_empty());
    let warned = warnings(&scene.ui);
    assert!(
        warned.len() == 2 && warned[1].contains("manifest could not be fetched"),
        "{warned:?}"
    );
}

#[tokio::test]
async fn a_url_addon_that_cannot_be_fetched_stops_before_anything_is_made() {
    let port = serve().await;
    let scene = Scene::new();
    let inputs = scene.inputs(ImageSourceSetting::Auto, "");
    let missing = format!("http://127.0.0.1:{port}/nothing.yaml");
    let err = prepare(&[Addon::Url(missing.clone())], &inputs)
        .await
        .unwrap_err();
    let text = crate::error::chain(&err);
    assert!(
        text.starts_with(&format!("getting the manifest of addon {missing}")),
        "{text}"
    );
    assert!(text.contains("404"), "{text}");
}
