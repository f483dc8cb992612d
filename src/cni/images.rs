//! The Debian system pod network images are cut from: one system holding
//! every recipe's packages, so choosing another plugin reuses it.

use std::path::PathBuf;

use super::{CniError, Inputs};
use crate::artifacts::gomod::{GoModuleBuild, WrapperFile};
use crate::engine::ImageConfig;
use crate::images::components::{assemble_archive, base_config};
use crate::images::debian::{self, Purpose, Recipe, NOT_NEEDED};
use crate::images::layer::LayerBlob;
use crate::images::ImageError;

const SYSTEM: Purpose = Purpose {
    name: "cni",
    images: "the pod network images",
    as_root: "sudo local-cluster up",
};

/// flanneld's tools: iptables (the same nft backend as kube-proxy's), and
/// busybox applets for the shell commands its manifest and users run.
pub const FLANNEL: Recipe = Recipe {
    name: "flannel",
    packages: &["iptables"],
    skip: NOT_NEEDED,
    busybox_fill: true,
};

/// Just busybox: `cp` for images that install a file onto the node.
pub const BUSYBOX: Recipe = Recipe {
    name: "busybox",
    packages: &["busybox-static"],
    skip: NOT_NEEDED,
    busybox_fill: true,
};

/// kube-router's tools: iptables and ipset for its NetworkPolicy rules, ip
/// for its routes, and busybox applets for its manifest's install script.
pub const KUBE_ROUTER: Recipe = Recipe {
    name: "kube-router",
    packages: &["iptables", "ipset", "iproute2"],
    skip: NOT_NEEDED,
    busybox_fill: true,
};

const RECIPES: [&Recipe; 3] = [&FLANNEL, &KUBE_ROUTER, &BUSYBOX];

/// The layer of `recipe` (the system is installed on first use).
pub async fn layer<E>(inputs: &Inputs<'_, E>, recipe: &Recipe) -> Result<LayerBlob, CniError> {
    let failed = |source: ImageError| CniError::Image {
        image: format!("layer {}", recipe.name),
        source: source.into(),
    };
    let system = debian::System::new(SYSTEM, inputs.arch, inputs.debian_mirror, &RECIPES);
    let entry = debian::build(inputs.ui, &system, inputs.cache)
        .await
        .map_err(failed)?;
    let (cache, owned) = (inputs.cache.clone(), *recipe);
    tokio::task::spawn_blocking(move || debian::layer(&cache, &entry, &system, &owned))
        .await
        .expect("layer task panicked")
        .map_err(failed)
}

/// A file of the system (installed on first use), e.g. to place a copy of
/// it where a program looks for it.
pub async fn system_file<E>(
    inputs: &Inputs<'_, E>,
    path: &str,
) -> Result<std::path::PathBuf, CniError> {
    let system = debian::System::new(SYSTEM, inputs.arch, inputs.debian_mirror, &RECIPES);
    let entry = debian::build(inputs.ui, &system, inputs.cache)
        .await
        .map_err(|source| CniError::Image {
            image: format!("the file {path}"),
            source: source.into(),
        })?;
    Ok(entry.path(debian::ROOTFS_DIR).join(path))
}

/// Build `build` (with `files` in its wrapper module); returns the directory
/// holding its binaries.
pub async fn go_binaries<E>(
    inputs: &Inputs<'_, E>,
    build: GoModuleBuild,
    what: &str,
    files: &[WrapperFile],
) -> Result<PathBuf, CniError> {
    let built = build
        .build_with_files(inputs.ui, inputs.cache, what, files)
        .await
        .map_err(|source| CniError::Build {
            what: what.to_string(),
            source: source.into(),
        })?;
    Ok(built.path("bin"))
}

/// The archive of image `reference`: `recipe`'s layer and `files` (path in
/// the image, file here) on top; `entrypoint` for manifests that give only
/// arguments.
pub async fn image<E>(
    inputs: &Inputs<'_, E>,
    reference: &str,
    recipe: &Recipe,
    files: &[(String, PathBuf)],
    entrypoint: Option<&str>,
) -> Result<PathBuf, CniError> {
    let layer = layer(inputs, recipe).await?;
    let config = ImageConfig {
        entrypoint: entrypoint.map(|e| vec![e.to_string()]),
        ..base_config()
    };
    assemble_archive(
        inputs.cache,
        inputs.arch,
        reference,
        vec![layer],
        files,
        config,
    )
    .await
    .map_err(|source| CniError::Image {
        image: reference.to_string(),
        source: source.into(),
    })
}
