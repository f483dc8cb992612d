//! A Debian system that images are cut from (one for the e2e test images,
//! one for the pod network images), and the layers cut from it.
//!
//! debootstrap installs every package any of its images needs, once; the
//! cache entry keeps the unpacked tree (`rootfs/`), so a layer whose recipe
//! changes is cut again without installing anything. A layer holds the files
//! of some packages and of everything they depend on, as dpkg lists them,
//! plus what dpkg's lists leave out: the `/etc/alternatives` choices (`awk`,
//! `nc`), the dynamic loader's cache, the merged-/usr links, and optionally
//! busybox applets for commands no package provides.
//!
//! Here: the system and its install; `cut.rs` the layers' recipes and the
//! cutting; `links.rs` how paths are followed through the tree's symlinks.

mod cut;
mod links;

use std::path::Path;

pub use cut::{layer, read_blob, write_blob, Recipe, NOT_NEEDED};

use crate::artifacts::cache::{Cache, CacheKey, Entry};
use crate::images::rootfs;
use crate::images::ImageError;
use crate::ui::Ui;

type Result<T> = std::result::Result<T, ImageError>;

/// What a system is for: names its cache entries and its step.
#[derive(Debug, Clone, Copy)]
pub struct Purpose {
    /// Prefix of its cache entries (`e2e` → `e2e-debian-trixie-amd64`).
    pub name: &'static str,
    /// For the step and errors: "the e2e test images".
    pub images: &'static str,
    /// The command to run as root when debootstrap needs it.
    pub as_root: &'static str,
}

/// What an images' Debian system is made of.
#[derive(Debug, Clone)]
pub struct System {
    pub purpose: Purpose,
    pub suite: String,
    pub arch: String,
    pub mirror: String,
    pub packages: Vec<String>,
}

/// Files in the system's cache entry.
pub const ROOTFS_DIR: &str = "rootfs";
/// The CA bundle, also where `components` looks for it (`rootfs::CA_BUNDLE`).
pub const CA_BUNDLE: &str = rootfs::CA_BUNDLE;
/// `busybox --list-full`: where each applet goes.
const APPLETS: &str = "busybox-applets.txt";

/// Installed beside the recipes' packages: the CA bundle the images get.
const ALSO_INSTALLED: [&str; 1] = ["ca-certificates"];

impl System {
    /// The system every layer in `recipes` can be cut from: their packages
    /// (dependencies come along), each once, in the order first named.
    pub fn new(purpose: Purpose, arch: &str, mirror: &str, recipes: &[&Recipe]) -> System {
        let mut packages: Vec<String> = Vec::new();
        let named = recipes.iter().flat_map(|r| r.packages.iter());
        for package in named.chain(ALSO_INSTALLED.iter()) {
            if !packages.iter().any(|p| p == package) {
                packages.push(package.to_string());
            }
        }
        System {
            purpose,
            suite: "trixie".to_string(),
            arch: arch.to_string(),
            mirror: mirror.trim_end_matches('/').to_string(),
            packages,
        }
    }

    pub fn key(&self) -> CacheKey {
        CacheKey::new()
            .with("format", 1)
            .with("suite", &self.suite)
            .with("arch", &self.arch)
            .with("mirror", &self.mirror)
            .with("packages", self.packages.join(","))
    }
}

/// Install the system (or take it from the cache).
pub async fn build(ui: &Ui, system: &System, cache: &Cache) -> Result<Entry> {
    let key = system.key();
    let entry = cache.entry(
        "base",
        &format!(
            "{}-debian-{}-{}",
            system.purpose.name, system.suite, system.arch
        ),
        &key,
    );
    if entry.is_complete() {
        return Ok(entry);
    }
    rootfs::check_host_can_debootstrap(
        &system.arch,
        &format!("the Debian system for {}", system.purpose.images),
        system.purpose.as_root,
    )?;
    let staging = entry
        .stage()
        .map_err(ImageError::io("creating", entry.dir()))?;
    let root = staging.path(ROOTFS_DIR);
    let step = ui.step(format!(
        "Installing Debian {} ({}) for {}",
        system.suite, system.arch, system.purpose.images
    ));
    rootfs::debootstrap(
        ui,
        &system.suite,
        &system.arch,
        &system.mirror,
        &system.packages,
        &root,
    )
    .await?;
    // busybox-static is static and the host runs this architecture, natively
    // or emulated (checked above), so it can say where its applets go
    // without a chroot.
    let busybox = root.join("usr/bin/busybox");
    let mut cmd = tokio::process::Command::new(&busybox);
    cmd.arg("--list-full");
    let applets = crate::process::output(ui, cmd, "busybox-static should be installed").await?;
    let list = staging.path(APPLETS);
    std::fs::write(&list, applets).map_err(ImageError::io("writing", &list))?;
    let bundle = root.join("etc/ssl/certs/ca-certificates.crt");
    std::fs::copy(&bundle, staging.path(CA_BUNDLE)).map_err(ImageError::io("copying", &bundle))?;
    // What no layer takes: device nodes, package downloads and indexes.
    for dir in [
        "dev",
        "proc",
        "sys",
        "run",
        "tmp",
        "var/cache/apt",
        "var/lib/apt/lists",
    ] {
        let path = root.join(dir);
        empty_dir(&path).map_err(ImageError::io("emptying", &path))?;
    }
    step.done();
    staging
        .commit(&key)
        .map_err(ImageError::io("completing", entry.dir()))
}

fn empty_dir(dir: &Path) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        other => other?,
    };
    for entry in entries {
        let path = entry?.path();
        if std::fs::symlink_metadata(&path)?.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
