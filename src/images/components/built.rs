//! The images built here rather than pulled: etcd and CoreDNS from their Go
//! modules (one description each, [`ETCD`] and [`COREDNS`]), pause from
//! Kubernetes' C source.

use std::path::PathBuf;

use super::{assemble, base_config, ComponentInputs, WantedImage};
use crate::artifacts::cache::{self, CacheKey};
use crate::artifacts::gomod::{self, GoModuleBuild};
use crate::engine::ImageConfig;
use crate::images::layer::LayerBlob;
use crate::images::{foreign, ImageError, Result};
use crate::process;

/// A component built from its Go module into one binary, and its image.
pub(super) struct GoComponent {
    /// Its name in messages.
    what: &'static str,
    module: &'static str,
    binary: &'static str,
    /// The module version for an image tag.
    pub(super) version: fn(&str) -> String,
    /// Where the binary goes in the image.
    path: &'static str,
    /// The image's entrypoint (None: the base configuration's).
    entrypoint: Option<&'static str>,
}

/// kubeadm's etcd tags are `<etcd version>-<image revision>`.
pub(super) const ETCD: GoComponent = GoComponent {
    what: "etcd",
    module: "go.etcd.io/etcd/server/v3",
    binary: "etcd",
    version: |tag| format!("v{}", tag.split('-').next().unwrap_or(tag)),
    path: "usr/local/bin/etcd",
    entrypoint: None,
};

/// CoreDNS tags are its version, with or without the `v`.
pub(super) const COREDNS: GoComponent = GoComponent {
    what: "CoreDNS",
    module: "github.com/coredns/coredns",
    binary: "coredns",
    version: |tag| {
        if tag.starts_with('v') {
            tag.to_string()
        } else {
            format!("v{tag}")
        }
    },
    path: "coredns",
    entrypoint: Some("/coredns"),
};

/// Build `component` at the version of `image`'s tag and assemble its image.
pub(super) async fn go_component<E>(
    inputs: &ComponentInputs<'_, E>,
    image: &WantedImage,
    common: &LayerBlob,
    component: &GoComponent,
) -> Result<PathBuf> {
    let version = (component.version)(&image.tag);
    let built = GoModuleBuild {
        module: component.module.to_string(),
        version: version.clone(),
        binaries: vec![(component.module.to_string(), component.binary.to_string())],
        ldflags: "-s -w".to_string(),
        tags: vec![],
        arch: inputs.build.arch.to_string(),
        sibling_version: gomod::same_version,
    }
    .build(
        inputs.build.ui,
        inputs.build.cache,
        &format!("{} {version}", component.what),
    )
    .await?;
    assemble(
        inputs,
        image,
        vec![common.clone()],
        &[(
            component.path.to_string(),
            built.path("bin").join(component.binary),
        )],
        ImageConfig {
            entrypoint: component.entrypoint.map(|e| vec![e.to_string()]),
            ..base_config()
        },
    )
    .await
}

/// Compile Kubernetes' pause (build/pause/linux/pause.c of the source tree
/// the binaries were built from, or else of the Go module of their version)
/// statically, as its own Makefile does.
pub(super) async fn pause<E>(inputs: &ComponentInputs<'_, E>, tag: &str) -> Result<PathBuf> {
    let version = inputs.binaries.version.to_string();
    let (compiler, needs) = foreign::c_compiler(inputs.build.arch)
        .ok_or_else(|| ImageError::NoCrossCompiler(inputs.build.arch.to_string()))?;
    const SOURCE: &str = "build/pause/linux/pause.c";
    // A tree's file may differ from the release's: key on the file.
    let tree_source = inputs.binaries.source_tree.as_ref().map(|t| t.join(SOURCE));
    let origin = match &tree_source {
        Some(path) => cache::file_identity(path).map_err(ImageError::io("reading", path))?,
        None => version.clone(),
    };
    let key = CacheKey::new()
        .with("tag", tag)
        .with("source", &origin)
        .with("arch", inputs.build.arch)
        .with("compiler", &compiler);
    let entry =
        inputs
            .build
            .cache
            .entry("pause", &format!("pause-{tag}-{}", inputs.build.arch), &key);
    if !entry.is_complete() {
        let source = match tree_source {
            Some(path) => path,
            None => gomod::module_dir(inputs.build.ui, "k8s.io/kubernetes", &version)
                .await?
                .join(SOURCE),
        };
        let staging = entry
            .stage()
            .map_err(ImageError::io("creating", entry.dir()))?;
        let mut cmd = tokio::process::Command::new(&compiler);
        cmd.args(["-Os", "-Wall", "-Werror", "-static"])
            .arg(format!("-DVERSION=v{tag}"))
            .arg("-o")
            .arg(staging.path("pause"))
            .arg(&source);
        process::run(
            inputs.build.ui,
            cmd,
            &format!(
                "Building the pause image for {} needs {needs}, or use --image-source registry.",
                inputs.build.arch
            ),
            |_| {},
        )
        .await?;
        staging
            .commit(&key)
            .map_err(ImageError::io("creating", entry.dir()))?;
    }
    Ok(entry.path("pause"))
}
