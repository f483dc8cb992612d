//! The registry's image: pulled (`registry:3` from Docker Hub), or, with
//! `imageSource: build`, built from the Go module
//! `github.com/distribution/distribution/v3` and assembled like the component
//! images (one layer: the binary, its config file, the storage directory),
//! with no registry involved.

use std::path::Path;

use futures_util::StreamExt;

use super::{RegistryError, Result};
use crate::artifacts::auto;
use crate::artifacts::cache::Cache;
use crate::artifacts::gomod::{self, GoModuleBuild};
use crate::engine::{Engine, ImageConfig};
use crate::images::archive::ImageSpec;
use crate::images::layer::LayerBuilder;
use crate::labels::{LABEL_ROLE, ROLE_REGISTRY_IMAGE};
use crate::settings::{ImageSource, ImageSourceSetting};
use crate::ui::Ui;

/// The official image, for `imageSource: registry`.
pub const PULLED_IMAGE: &str = "registry:3";
/// The distribution release built for `imageSource: build`.
pub const DISTRIBUTION_MODULE: &str = "github.com/distribution/distribution/v3";
pub const DISTRIBUTION_VERSION: &str = "v3.1.2";

/// Where the image's config file is, as in the official image.
const CONFIG_PATH: &str = "/etc/distribution/config.yml";

/// The official image's configuration minus its debug endpoint; storage in
/// /var/lib/registry (the volume), served on every address of the
/// container on port 5000 (the container also gets `REGISTRY_HTTP_ADDR`, so
/// the pulled image listens there too).
const CONFIG: &str = "\
version: 0.1
log:
  fields:
    service: registry
storage:
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: 0.0.0.0:5000
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
";

/// How to get the registry image.
pub struct ImagePlan<'a> {
    pub source: ImageSourceSetting,
    pub cache: &'a Cache,
}

/// The reference of the image we build for `arch`.
pub fn built_reference(arch: &str) -> String {
    format!("kubeadm-local-cluster/registry:{DISTRIBUTION_VERSION}-{arch}")
}

/// Make sure the engine holds the registry image; returns its reference.
/// The registry runs on the engine itself, so it is made for the engine's
/// architecture whatever the nodes'.
pub async fn ensure<E: Engine>(engine: &E, ui: &Ui, plan: &ImagePlan<'_>) -> Result<String> {
    let arch = engine.info().arch.clone();
    match auto::image_source(ui, plan.source, PULLED_IMAGE).await {
        ImageSource::Registry => {
            let reference = PULLED_IMAGE.to_string();
            if engine.inspect_image(&reference).await?.is_none() {
                ui.note(format!("pulling {reference}"));
                engine
                    .pull_image(&reference, &mut |s| ui.detail(s))
                    .await
                    .map_err(|source| RegistryError::Pull {
                        reference: reference.clone(),
                        source,
                    })?;
            }
            Ok(reference)
        }
        ImageSource::Build => {
            let reference = built_reference(&arch);
            if engine.inspect_image(&reference).await?.is_none() {
                build(engine, ui, plan.cache, &arch, &reference).await?;
            }
            Ok(reference)
        }
    }
}

async fn build<E: Engine>(
    engine: &E,
    ui: &Ui,
    cache: &Cache,
    arch: &str,
    reference: &str,
) -> Result<()> {
    let built = GoModuleBuild {
        module: DISTRIBUTION_MODULE.to_string(),
        version: DISTRIBUTION_VERSION.to_string(),
        binaries: vec![(
            format!("{DISTRIBUTION_MODULE}/cmd/registry"),
            "registry".to_string(),
        )],
        ldflags: "-s -w".to_string(),
        tags: vec![],
        arch: arch.to_string(),
        sibling_version: gomod::same_version,
    }
    .build(ui, cache, &format!("registry {DISTRIBUTION_VERSION}"))
    .await
    .map_err(RegistryError::Build)?;
    let binary = built.path("bin").join("registry");
    let dir = tempfile::tempdir().map_err(|source| RegistryError::Assemble {
        reference: reference.to_string(),
        dir: std::env::temp_dir(),
        source,
    })?;
    let archive = dir.path().join("image.tar");
    let (arch_owned, reference_owned, archive_path) =
        (arch.to_string(), reference.to_string(), archive.clone());
    tokio::task::spawn_blocking(move || {
        write_archive(&binary, &arch_owned, &reference_owned, &archive_path)
    })
    .await
    .expect("image assembly panicked")
    .map_err(|source| RegistryError::Assemble {
        reference: reference.to_string(),
        dir: dir.path().to_path_buf(),
        source,
    })?;
    let file = tokio::fs::File::open(&archive)
        .await
        .map_err(|source| RegistryError::Assemble {
            reference: reference.to_string(),
            dir: dir.path().to_path_buf(),
            source,
        })?;
    let stream = file_stream(file);
    engine
        .load_image(stream)
        .await
        .map_err(|source| RegistryError::Load {
            reference: reference.to_string(),
            source,
        })
}

/// A file as the byte stream the engine takes.
pub(super) fn file_stream(file: tokio::fs::File) -> crate::engine::ByteStream {
    futures_util::stream::unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 1 << 20];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(bytes::Bytes::from(buf)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    })
    .boxed()
}

/// The image as a `docker save` archive: one layer holding the binary, the
/// config file and the storage directory.
fn write_archive(binary: &Path, arch: &str, reference: &str, out: &Path) -> std::io::Result<()> {
    let layer_path = out.with_file_name("layer.tar.gz");
    let mut layer = LayerBuilder::create(&layer_path)?;
    layer.file_from("bin/registry", 0o755, binary)?;
    layer.file(
        CONFIG_PATH.trim_start_matches('/'),
        0o644,
        CONFIG.as_bytes(),
    )?;
    layer.dir("var/lib/registry", 0o755)?;
    layer.dir("tmp", 0o1777)?;
    let layer = layer.finish()?;
    ImageSpec {
        references: vec![reference.to_string()],
        arch: arch.to_string(),
        config: image_config(),
        layers: vec![layer],
    }
    .write_archive(out)?;
    Ok(())
}

fn image_config() -> ImageConfig {
    ImageConfig {
        env: vec![
            "PATH=/bin".to_string(),
            // As the official image: no tracing exporter to reach.
            "OTEL_TRACES_EXPORTER=none".to_string(),
        ],
        entrypoint: Some(vec!["/bin/registry".to_string()]),
        cmd: Some(vec!["serve".to_string(), CONFIG_PATH.to_string()]),
        labels: [(LABEL_ROLE.to_string(), ROLE_REGISTRY_IMAGE.to_string())].into(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_image_serves_its_config_from_the_volume_path() {
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("registry");
        std::fs::write(&binary, b"\x7fELF").unwrap();
        let out = dir.path().join("image.tar");
        write_archive(
            &binary,
            "amd64",
            "kubeadm-local-cluster/registry:v3.1.2-amd64",
            &out,
        )
        .unwrap();
        let mut names = Vec::new();
        for entry in tar::Archive::new(std::fs::File::open(&out).unwrap())
            .entries()
            .unwrap()
        {
            names.push(entry.unwrap().path().unwrap().display().to_string());
        }
        assert!(names.contains(&"manifest.json".to_string()), "{names:?}");
        assert!(CONFIG.contains("rootdirectory: /var/lib/registry"));
        assert!(CONFIG.contains("addr: 0.0.0.0:5000"));
        let config = serde_json::to_string(&image_config()).unwrap();
        assert!(
            config.contains("\"Entrypoint\":[\"/bin/registry\"]"),
            "{config}"
        );
        assert!(config.contains("\"Cmd\":[\"serve\",\"/etc/distribution/config.yml\"]"));
    }
}
