//! The node image for one Kubernetes version: a container of the bare image
//! gets the binaries and, in its containerd, every image kubeadm runs; it is
//! then committed as the node image. Each step is a function; the build
//! container is removed whatever happens.

use std::path::PathBuf;

use super::super::components::{self, Component, ComponentInputs, WantedImage};
use super::{
    file_key, node_image_config, node_image_labels, node_image_reference, Build, KubernetesContent,
    Made,
};
use crate::artifacts::cache::{CacheKey, Entry};
use crate::artifacts::{Binaries, NODE_BINARIES};
use crate::engine::temporary::Temporary;
use crate::engine::{ContainerSpec, Engine, ExecRequest};
use crate::images::{foreign, BuildContext, ImageError, Result};
use crate::labels::{
    LABEL_BINARIES, LABEL_FORMAT, LABEL_KUBERNETES_VERSION, LABEL_PRELOADED, LABEL_ROLE,
    ROLE_IMAGE_BUILD,
};
use crate::settings::ImageSource;

const CONTAINERD_CONFIG: &str = include_str!("../node_files/containerd.toml");
const PRELOAD_SCRIPT: &str = include_str!("../node_files/preload-images.sh");
/// Where image archives wait inside the build container.
const IMPORT_DIR: &str = "/var/tmp/local-cluster-images";

/// The image's reference and the hash of everything it is made from.
pub(super) fn describe(
    bare: &Made,
    binaries: &Binaries,
    k8s: &KubernetesContent,
    image_source: ImageSource,
    arch: &str,
) -> Result<Made> {
    let mut key = CacheKey::new()
        .with("format", super::FORMAT)
        .with("bare", &bare.inputs)
        .with("image-source", format!("{image_source:?}"))
        .with("image-repository", &k8s.image_repository)
        .with("containerd-config", CONTAINERD_CONFIG)
        .with("preload", PRELOAD_SCRIPT);
    for (name, path) in &binaries.files {
        key = file_key(key, name, path)?;
    }
    Ok(Made {
        reference: node_image_reference(&binaries.version.to_string(), arch),
        inputs: key.hash(),
    })
}

/// Build the node image `image` from the bare image.
pub(super) async fn build<E: Engine>(
    build: &Build<'_, E>,
    bare: &Made,
    image: &Made,
    binaries: &Binaries,
    k8s: &KubernetesContent,
    image_source: ImageSource,
    base: &Entry,
) -> Result<()> {
    let container = start_builder(build, &bare.reference, &image.reference).await?;
    let builder = container.name();
    let result = async {
        copy_binaries(build, builder, binaries).await?;
        let wanted = list_images(build, builder, binaries, k8s).await?;
        let archives = make_images(build, &wanted, binaries, image_source, base).await?;
        preload(build, builder, &wanted, &archives).await?;
        save(build, builder, image, binaries, &wanted).await
    }
    .await;
    // Not removed here when the build is stopped at an await point: the
    // command removes what is still listed as it ends.
    let _ = container.remove(build.context.engine).await;
    result
}

/// Step: a running container of the bare image, doing nothing, to fill.
async fn start_builder<E: Engine>(
    build: &Build<'_, E>,
    bare_reference: &str,
    reference: &str,
) -> Result<Temporary> {
    let step = build.context.ui.step("Starting the image build container");
    let container = start_idle(build, bare_reference, "build", reference).await?;
    step.done();
    Ok(container)
}

/// Step, only when the node image is for another architecture than the
/// engine's: a container of the bare image must run a program there, before
/// anything is built for it (a cross-compiled Kubernetes takes long, and a
/// binfmt_misc registration does not survive a reboot).
pub(super) async fn check_engine_runs_arch<E: Engine>(
    build: &Build<'_, E>,
    bare_reference: &str,
) -> Result<()> {
    let (arch, engine_arch) = (&build.context.arch, &build.context.engine.info().arch);
    if arch == engine_arch {
        return Ok(());
    }
    let step = build.context.ui.step(format!(
        "Checking that the {engine_arch} engine runs {arch} programs (emulated)"
    ));
    let container = start_idle(build, bare_reference, "probe", bare_reference).await?;
    let _ = container.remove(build.context.engine).await;
    step.done();
    Ok(())
}

/// A started container of `image` that sleeps, named after `purpose` and
/// `seed`; for another architecture than the engine's, checked to be
/// running a program (removed again if not).
async fn start_idle<E: Engine>(
    build: &Build<'_, E>,
    image: &str,
    purpose: &str,
    seed: &str,
) -> Result<Temporary> {
    let name = format!(
        "local-cluster-{purpose}-{}",
        &CacheKey::new()
            .with("r", seed)
            .with("t", std::process::id())
            .hash()[..10]
    );
    let container = Temporary::list(&name);
    let spec = ContainerSpec {
        name: name.clone(),
        image: image.to_string(),
        entrypoint: Some(vec!["sleep".to_string()]),
        cmd: Some(vec!["infinity".to_string()]),
        labels: [(LABEL_ROLE.to_string(), ROLE_IMAGE_BUILD.to_string())].into(),
        ..Default::default()
    };
    let engine = build.context.engine;
    let (arch, engine_arch) = (&build.context.arch, &engine.info().arch);
    let started = async {
        engine.remove_container(&name).await?;
        engine.create_container(&spec).await?;
        engine.start_container(&name).await?;
        if arch != engine_arch {
            // The engine starts a container whose program it cannot execute
            // and the container just exits: only running something tells.
            engine.run(&name, &["true"]).await?;
        }
        Ok(())
    }
    .await;
    if let Err(e) = started {
        let logs = engine.log_tail(&name, 5).await.unwrap_or_default();
        let _ = container.remove(engine).await;
        // The build container runs the node's own programs (sleep, kubeadm,
        // containerd): an engine of another architecture needs emulation.
        let unrunnable = |text: &str| text.contains("exec format error");
        if arch != engine_arch && (unrunnable(&logs) || unrunnable(&crate::error::chain(&e))) {
            return Err(ImageError::HostCannotBuild(format!(
                "the {engine_arch} Docker engine cannot run {arch} programs (a container of \
                 {image} says: {}); they need qemu-user registered with binfmt_misc (flag F) \
                 on the engine's host: {}",
                logs.trim(),
                foreign::target(arch)
                    .map_or_else(|| "an emulator for it".to_string(), foreign::setup_commands)
            )));
        }
        return Err(ImageError::engine(format!("start the container {name}"))(e));
    }
    Ok(container)
}

/// Step: kubeadm, kubelet and kubectl into /usr/bin.
async fn copy_binaries<E: Engine>(
    build: &Build<'_, E>,
    builder: &str,
    binaries: &Binaries,
) -> Result<()> {
    let step = build
        .context
        .ui
        .step("Copying Kubernetes binaries into the image");
    let files: Vec<(String, PathBuf)> = NODE_BINARIES
        .iter()
        .map(|n| (n.to_string(), binaries.path(n).to_path_buf()))
        .collect();
    build
        .context
        .engine
        .upload_files(builder, "/usr/bin", &files)
        .await
        .map_err(ImageError::engine(format!("copy binaries into {builder}")))?;
    step.done();
    Ok(())
}

/// What kubeadm of this version will run, as it says itself.
async fn list_images<E: Engine>(
    build: &Build<'_, E>,
    builder: &str,
    binaries: &Binaries,
    k8s: &KubernetesContent,
) -> Result<Vec<WantedImage>> {
    let version = binaries.version.to_string();
    let list = build
        .context
        .engine
        .run(
            builder,
            &[
                "kubeadm",
                "config",
                "images",
                "list",
                "--kubernetes-version",
                &version,
                "--image-repository",
                &k8s.image_repository,
            ],
        )
        .await
        .map_err(ImageError::engine("kubeadm config images list"))?;
    components::parse_image_list(&list.stdout_text())
}

/// Step: an archive of each image, assembled, built or pulled.
async fn make_images<E: Engine>(
    build: &Build<'_, E>,
    wanted: &[WantedImage],
    binaries: &Binaries,
    image_source: ImageSource,
    base: &Entry,
) -> Result<Vec<PathBuf>> {
    let step = build.context.ui.step(format!(
        "Making {} images ({})",
        wanted.len(),
        match image_source {
            ImageSource::Build => "assembled and built locally",
            ImageSource::Registry => "control plane assembled, others pulled",
        }
    ));
    let archives = components::make_images(
        wanted,
        &ComponentInputs {
            build: BuildContext {
                image_source: image_source.into(),
                ..build.context
            },
            base,
            binaries,
            image_source,
        },
    )
    .await?;
    step.done();
    Ok(archives)
}

/// Step: the archives into the node's containerd, with the configuration
/// that names the pause image; every wanted image must be there after.
async fn preload<E: Engine>(
    build: &Build<'_, E>,
    builder: &str,
    wanted: &[WantedImage],
    archives: &[PathBuf],
) -> Result<()> {
    let step = build
        .context
        .ui
        .step("Preloading the images into the node's containerd");
    let engine = build.context.engine;
    let pause = wanted
        .iter()
        .find(|w| w.component == Component::Pause)
        .ok_or(ImageError::NoPauseImage)?;
    let files: Vec<(String, PathBuf)> = archives
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("{i}.tar"), p.clone()))
        .collect();
    let script = format!("{IMPORT_DIR}/preload-images.sh");
    let pinned: Vec<&str> = wanted.iter().map(|w| w.reference.as_str()).collect();
    let listed = async {
        engine.upload_files(builder, IMPORT_DIR, &files).await?;
        engine
            .write_file(builder, &script, 0o755, PRELOAD_SCRIPT.as_bytes())
            .await?;
        let config = CONTAINERD_CONFIG.replace("@SANDBOX_IMAGE@", &pause.reference);
        engine
            .write_file(
                builder,
                "/etc/containerd/config.toml",
                0o644,
                config.as_bytes(),
            )
            .await?;
        engine
            .run_with(
                builder,
                &["sh", &script],
                ExecRequest {
                    env: vec![
                        format!("IMPORT_DIR={IMPORT_DIR}"),
                        format!("PINNED={}", pinned.join(" ")),
                    ],
                    ..Default::default()
                },
            )
            .await
    }
    .await
    .map_err(ImageError::engine("import images into containerd"))?
    .stdout_text();
    for w in wanted {
        if !listed.lines().any(|l| l.trim() == w.reference) {
            return Err(ImageError::NotPreloaded {
                reference: w.reference.clone(),
                holds: listed.split_whitespace().collect::<Vec<_>>().join(", "),
            });
        }
    }
    step.done();
    Ok(())
}

/// Step: stop the build container and commit it as the node image.
async fn save<E: Engine>(
    build: &Build<'_, E>,
    builder: &str,
    image: &Made,
    binaries: &Binaries,
    wanted: &[WantedImage],
) -> Result<()> {
    let step = build
        .context
        .ui
        .step(format!("Saving the node image {}", image.reference));
    let labels = node_image_labels(
        &image.inputs,
        &[
            (LABEL_KUBERNETES_VERSION, binaries.version.to_string()),
            (LABEL_BINARIES, describe_origins(binaries)),
            (LABEL_FORMAT, super::FORMAT.to_string()),
            (
                LABEL_PRELOADED,
                wanted
                    .iter()
                    .map(|w| w.reference.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        ],
    );
    let engine = build.context.engine;
    async {
        engine.stop_container(builder, 2).await?;
        engine
            .commit_container(builder, &image.reference, &node_image_config(labels))
            .await
    }
    .await
    .map_err(ImageError::engine(format!("save {}", image.reference)))?;
    step.done();
    Ok(())
}

/// Where the binaries came from, for the image's label: binaries with the
/// same origin together, e.g. `kubeadm, kubectl: Go module ...`.
fn describe_origins(binaries: &Binaries) -> String {
    let mut by_origin: Vec<(&str, Vec<&str>)> = Vec::new();
    for (name, origin) in &binaries.origins {
        match by_origin.iter_mut().find(|(o, _)| o == origin) {
            Some((_, names)) => names.push(name),
            None => by_origin.push((origin, vec![name])),
        }
    }
    by_origin
        .iter()
        .map(|(origin, names)| format!("{}: {origin}", names.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}
