//! The images kubeadm runs (control plane, kube-proxy, etcd, CoreDNS, pause),
//! at the names and tags `kubeadm config images list` prints.
//!
//! Control-plane images are assembled here from the Kubernetes binaries, with
//! no `FROM` a registry image: a shared layer of base files, plus kube-proxy's
//! netfilter tools from Debian, plus the binary. etcd, CoreDNS and pause are
//! either pulled through the Docker engine from the image repository, or built
//! here (etcd and CoreDNS from their Go modules, pause from Kubernetes' C
//! source) and assembled the same way.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

mod built;

use super::archive::ImageSpec;
use super::context::BuildContext;
use super::layer::{describe_gzip_layer, LayerBlob, LayerBuilder};
use super::{rootfs, ImageError, Result};
use crate::artifacts::cache::{self, Cache, CacheKey, Entry};
use crate::artifacts::Binaries;
use crate::engine::{Engine, ImageConfig};
use crate::settings::ImageSource;
use crate::ui::Ui;

/// What kind of image a reference from kubeadm's list is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Component {
    /// kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy.
    Kubernetes(String),
    Etcd,
    CoreDns,
    Pause,
}

/// One image kubeadm wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedImage {
    pub reference: String,
    pub tag: String,
    pub component: Component,
}

/// Parse `kubeadm config images list` output.
pub fn parse_image_list(text: &str) -> Result<Vec<WantedImage>> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (repo, tag) = crate::engine::split_reference(line);
        let name = repo.rsplit('/').next().unwrap_or(repo);
        let component = match name {
            "kube-apiserver" | "kube-controller-manager" | "kube-scheduler" | "kube-proxy" => {
                Component::Kubernetes(name.to_string())
            }
            "etcd" => Component::Etcd,
            "coredns" => Component::CoreDns,
            "pause" => Component::Pause,
            other => {
                return Err(ImageError::UnknownComponent {
                    reference: line.to_string(),
                    name: other.to_string(),
                })
            }
        };
        out.push(WantedImage {
            reference: line.to_string(),
            tag: tag.to_string(),
            component,
        });
    }
    if out.is_empty() {
        return Err(ImageError::NoImagesListed);
    }
    Ok(out)
}

/// Inputs shared by every component image.
pub struct ComponentInputs<'a, E> {
    pub build: BuildContext<'a, E>,
    pub base: &'a Entry,
    pub binaries: &'a Binaries,
    /// Where the images come from, decided (`build.image_source` is the
    /// setting, which may leave it to the tool).
    pub image_source: ImageSource,
}

/// Make every wanted image as a `docker save` archive; returns their paths,
/// in the order wanted. The images are made side by side: while the Go
/// builds of etcd and CoreDNS link (one core) or wait for their modules,
/// the other images are packed.
pub async fn make_images<E: Engine>(
    wanted: &[WantedImage],
    inputs: &ComponentInputs<'_, E>,
) -> Result<Vec<PathBuf>> {
    let common = common_layer(inputs)?;
    let made = wanted
        .iter()
        .map(|image| make_image(image, inputs, &common));
    futures_util::future::try_join_all(made).await
}

/// One of [`make_images`].
async fn make_image<E: Engine>(
    image: &WantedImage,
    inputs: &ComponentInputs<'_, E>,
    common: &LayerBlob,
) -> Result<PathBuf> {
    let path = match (&image.component, inputs.image_source) {
        (Component::Kubernetes(name), _) => {
            let binary = inputs.binaries.path(name);
            let mut layers = vec![common.clone()];
            if name == "kube-proxy" {
                layers.push(describe_cached(&inputs.base.path(rootfs::NETFILTER_LAYER))?);
            }
            assemble(
                inputs,
                image,
                layers,
                &[(format!("usr/local/bin/{name}"), binary.to_path_buf())],
                ImageConfig {
                    entrypoint: Some(vec![format!("/usr/local/bin/{name}")]),
                    ..base_config()
                },
            )
            .await?
        }
        (_, ImageSource::Registry) => {
            pull_and_save(
                inputs.build.engine,
                inputs.build.ui,
                inputs.build.cache,
                &image.reference,
            )
            .await?
        }
        (Component::Etcd, ImageSource::Build) => {
            built::go_component(inputs, image, common, &built::ETCD).await?
        }
        (Component::CoreDns, ImageSource::Build) => {
            built::go_component(inputs, image, common, &built::COREDNS).await?
        }
        (Component::Pause, ImageSource::Build) => {
            let pause = built::pause(inputs, &image.tag).await?;
            assemble(
                inputs,
                image,
                vec![common.clone()],
                &[("pause".to_string(), pause)],
                ImageConfig {
                    entrypoint: Some(vec!["/pause".to_string()]),
                    user: Some("65535:65535".to_string()),
                    ..base_config()
                },
            )
            .await?
        }
    };
    Ok(path)
}

/// PATH and the label every assembled image carries.
pub fn base_config() -> ImageConfig {
    ImageConfig {
        env: vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string()],
        labels: [(
            crate::labels::LABEL_ASSEMBLED.to_string(),
            "true".to_string(),
        )]
        .into(),
        ..Default::default()
    }
}

fn describe_cached(path: &Path) -> Result<LayerBlob> {
    describe_gzip_layer(path).map_err(ImageError::io("reading", path))
}

/// The files every assembled image shares: users, name service config,
/// CA certificates, /tmp. Identical bytes everywhere, so stored once.
fn common_layer<E>(inputs: &ComponentInputs<'_, E>) -> Result<LayerBlob> {
    let bundle = inputs.base.path(rootfs::CA_BUNDLE);
    let ca = std::fs::read(&bundle).map_err(ImageError::io("reading", &bundle))?;
    let key = CacheKey::new().with("format", 1).with(
        "ca",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&ca)),
    );
    let entry = inputs.build.cache.entry("layers", "common", &key);
    if !entry.is_complete() {
        let staging = entry
            .stage()
            .map_err(ImageError::io("creating", entry.dir()))?;
        let io = |source| ImageError::Io {
            action: "writing",
            path: staging.dir().to_path_buf(),
            source,
        };
        let mut l = LayerBuilder::create(&staging.path("layer.tar.gz")).map_err(io)?;
        l.file(
            "etc/passwd",
            0o644,
            b"root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
        )
        .map_err(io)?;
        l.file(
            "etc/group",
            0o644,
            b"root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n",
        )
        .map_err(io)?;
        l.file("etc/nsswitch.conf", 0o644, b"hosts: files dns\n")
            .map_err(io)?;
        l.file("etc/ssl/certs/ca-certificates.crt", 0o644, &ca)
            .map_err(io)?;
        l.dir("tmp", 0o1777).map_err(io)?;
        l.dir("var/run", 0o755).map_err(io)?;
        l.finish().map_err(io)?;
        staging
            .commit(&key)
            .map_err(ImageError::io("creating", entry.dir()))?;
    }
    describe_cached(&entry.path("layer.tar.gz"))
}

/// Write an image archive from shared layers plus one layer of `files`
/// (path in image, file on host); cached by the files' identity.
async fn assemble<E>(
    inputs: &ComponentInputs<'_, E>,
    image: &WantedImage,
    layers: Vec<LayerBlob>,
    files: &[(String, PathBuf)],
    config: ImageConfig,
) -> Result<PathBuf> {
    assemble_archive(
        inputs.build.cache,
        inputs.build.arch,
        &image.reference,
        layers,
        files,
        config,
    )
    .await
}

/// The start of the cache key of an assembled image archive: its name,
/// architecture, configuration and shared layers (the caller adds what its
/// own top layer holds).
pub fn archive_key(
    reference: &str,
    arch: &str,
    config: &ImageConfig,
    layers: &[LayerBlob],
) -> CacheKey {
    let mut key = CacheKey::new()
        .with("format", 1)
        .with("reference", reference)
        .with("arch", arch)
        .with(
            "config",
            serde_json::to_string(config).expect("serializable"),
        );
    for layer in layers {
        key = key.with("layer", &layer.digest);
    }
    key
}

/// The `docker save` archive of image `reference`: `layers` plus one layer
/// of `files` (path in image, file on host), cached by the layers' digests
/// and the files' identity.
pub async fn assemble_archive(
    cache: &Cache,
    arch: &str,
    reference: &str,
    mut layers: Vec<LayerBlob>,
    files: &[(String, PathBuf)],
    config: ImageConfig,
) -> Result<PathBuf> {
    let mut key = archive_key(reference, arch, &config, &layers);
    for (path, source) in files {
        key = key.with(
            "file",
            format!(
                "{path} {}",
                cache::file_identity(source).map_err(ImageError::io("reading", source))?
            ),
        );
    }
    let name = reference
        .rsplit('/')
        .next()
        .unwrap_or(reference)
        .replace(':', "-");
    let entry = cache.entry("images", &format!("{name}-{arch}"), &key);
    let archive = entry.path("image.tar");
    if entry.is_complete() {
        return Ok(archive);
    }
    let staging = entry
        .stage()
        .map_err(ImageError::io("creating", entry.dir()))?;
    let layer_path = staging.path("top.tar.gz");
    let files = files.to_vec();
    let top = tokio::task::spawn_blocking(move || -> std::io::Result<LayerBlob> {
        let mut l = LayerBuilder::create(&layer_path)?;
        for (path, source) in &files {
            // Programs stay executable; configuration files are not made so.
            let executable = std::fs::metadata(source)?.permissions().mode() & 0o111 != 0;
            l.file_from(path, if executable { 0o755 } else { 0o644 }, source)?;
        }
        l.finish()
    })
    .await
    .expect("layer task panicked")
    .map_err(ImageError::io("writing a layer in", staging.dir()))?;
    layers.push(top);
    let spec = ImageSpec {
        references: vec![reference.to_string()],
        arch: arch.to_string(),
        config,
        layers,
    };
    let out = staging.path("image.tar");
    spec.write_archive(&out)
        .map_err(ImageError::io("writing", &out))?;
    // The top layer now lives inside the archive.
    let _ = std::fs::remove_file(staging.path("top.tar.gz"));
    staging
        .commit(&key)
        .map_err(ImageError::io("creating", entry.dir()))?;
    Ok(archive)
}

/// Pull `reference` through the engine (unless it holds it already) and save
/// it as a `docker save` archive, cached by the image's id.
pub async fn pull_and_save<E: Engine>(
    engine: &E,
    ui: &Ui,
    cache: &Cache,
    reference: &str,
) -> Result<PathBuf> {
    let engine_err = |e| ImageError::Engine {
        action: format!("image {reference}"),
        source: e,
    };
    if engine
        .inspect_image(reference)
        .await
        .map_err(engine_err)?
        .is_none()
    {
        ui.note(format!("pulling {reference}"));
        engine
            .pull_image(reference, &mut |s| ui.detail(s))
            .await
            .map_err(|source| ImageError::Pull {
                image: reference.to_string(),
                source,
            })?;
    }
    let id = engine
        .inspect_image(reference)
        .await
        .map_err(engine_err)?
        .map(|i| i.id)
        .unwrap_or_default();
    let key = CacheKey::new().with("reference", reference).with("id", &id);
    let name = reference.replace(['/', ':'], "_");
    let entry = cache.entry("pulled", &name, &key);
    if !entry.is_complete() {
        let staging = entry
            .stage()
            .map_err(ImageError::io("creating", entry.dir()))?;
        crate::engine::save_images_to(engine, &[reference], &staging.path("image.tar"))
            .await
            .map_err(engine_err)?;
        staging
            .commit(&key)
            .map_err(ImageError::io("completing", entry.dir()))?;
    }
    Ok(entry.path("image.tar"))
}

#[cfg(test)]
mod tests;
