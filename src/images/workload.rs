//! Images of what runs as pods (pod networks, addons), made here: cut from
//! one Debian system holding every recipe's packages, so choosing another
//! plugin or addon reuses it, plus the program's own files.

use std::path::PathBuf;

use super::components::{assemble_archive, base_config, pull_and_save};
use super::context::{BuildContext, MakeError};
use super::debian::{self, Purpose, Recipe, NOT_NEEDED};
use super::layer::LayerBlob;
use super::ImageError;
use crate::artifacts::cache::Cache;
use crate::engine::ImageConfig;
use crate::ui::Ui;

/// The cache name stays `cni`, which these images were first made for.
const SYSTEM: Purpose = Purpose {
    name: "cni",
    images: "the pod network and addon images",
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

/// Just busybox: `cp` for images that install a file onto the node, `sh`,
/// `mkdir` and `rm` for local-path's helper pods.
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

/// Where and for what architecture the images are made.
#[derive(Clone, Copy)]
pub struct Workload<'a> {
    pub ui: &'a Ui,
    pub cache: &'a Cache,
    /// Go architecture of the nodes (`amd64`).
    pub arch: &'a str,
    pub debian_mirror: &'a str,
}

impl Workload<'_> {
    fn system(&self) -> debian::System {
        debian::System::new(SYSTEM, self.arch, self.debian_mirror, &RECIPES)
    }

    /// The layer of `recipe` (the system is installed on first use).
    pub async fn layer(&self, recipe: &Recipe) -> Result<LayerBlob, ImageError> {
        let system = self.system();
        let entry = debian::build(self.ui, &system, self.cache).await?;
        let (cache, owned) = (self.cache.clone(), *recipe);
        tokio::task::spawn_blocking(move || debian::layer(&cache, &entry, &system, &owned))
            .await
            .expect("layer task panicked")
    }

    /// A file of the system (installed on first use), e.g. to place a copy
    /// of it where a program looks for it.
    pub async fn system_file(&self, path: &str) -> Result<PathBuf, ImageError> {
        let entry = debian::build(self.ui, &self.system(), self.cache).await?;
        Ok(entry.path(debian::ROOTFS_DIR).join(path))
    }

    /// The archive of image `reference`: `recipe`'s layer (none: just the
    /// files, like a distroless image) and `files` (path in the image, file
    /// here) on top; `entrypoint` for manifests that give only arguments.
    pub async fn image(
        &self,
        reference: &str,
        recipe: Option<&Recipe>,
        files: &[(String, PathBuf)],
        entrypoint: Option<&str>,
    ) -> Result<PathBuf, ImageError> {
        let layers = match recipe {
            Some(recipe) => vec![self.layer(recipe).await?],
            None => vec![],
        };
        let config = ImageConfig {
            entrypoint: entrypoint.map(|e| vec![e.to_string()]),
            ..base_config()
        };
        assemble_archive(self.cache, self.arch, reference, layers, files, config).await
    }
}

/// [`BuildContext`]'s helpers that make images: here, above the component
/// images they assemble with.
impl<'a, E> BuildContext<'a, E> {
    /// Images cut from the Debian system made for pod networks and addons.
    pub fn workload(&self) -> Workload<'a> {
        Workload {
            ui: self.ui,
            cache: self.cache,
            arch: self.arch,
            debian_mirror: self.debian_mirror,
        }
    }

    /// The archive of image `reference`, cut from the workload system:
    /// `recipe`'s layer (none: just the files) and `files` on top.
    pub async fn image(
        &self,
        reference: &str,
        recipe: Option<&super::debian::Recipe>,
        files: &[(String, PathBuf)],
        entrypoint: Option<&str>,
    ) -> Result<PathBuf, MakeError> {
        self.workload()
            .image(reference, recipe, files, entrypoint)
            .await
            .map_err(MakeError::making(reference))
    }

    /// A file of the workload system (installed on first use).
    pub async fn system_file(&self, path: &str) -> Result<PathBuf, MakeError> {
        self.workload()
            .system_file(path)
            .await
            .map_err(MakeError::making(format!("the file {path}")))
    }
}

impl<E: crate::engine::Engine> BuildContext<'_, E> {
    /// `reference` pulled by the engine and saved as an archive.
    pub async fn pulled(&self, reference: &str) -> Result<PathBuf, MakeError> {
        pull_and_save(self.engine, self.ui, self.cache, reference)
            .await
            .map_err(MakeError::making(reference))
    }
}
