//! Layers cut from a Debian system: what a layer holds (its [`Recipe`]),
//! the cached layer and its digests, and the cutting itself (the packages'
//! files, alternatives, busybox applets, the merged-/usr links).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::links::{alternative, resolve_parents};
use super::{Result, System, APPLETS, ROOTFS_DIR};
use crate::artifacts::cache::{Cache, CacheKey, Entry};
use crate::images::dpkg;
use crate::images::layer::{LayerBlob, LayerBuilder};
use crate::images::ImageError;

/// A layer of Debian packages.
#[derive(Debug, Clone, Copy)]
pub struct Recipe {
    /// Names the layer in the cache.
    pub name: &'static str,
    /// These packages and their dependencies...
    pub packages: &'static [&'static str],
    /// ...except these (maintainer-script tooling a container never runs).
    pub skip: &'static [&'static str],
    /// Link busybox applets for commands the packages do not provide.
    pub busybox_fill: bool,
}

impl Recipe {
    fn key(&self, system: &CacheKey) -> CacheKey {
        CacheKey::new()
            .with("format", 3)
            .with("system", system.hash())
            .with("packages", self.packages.join(","))
            .with("skip", self.skip.join(","))
            .with("busybox-fill", self.busybox_fill)
    }
}

/// Packages a container image does not need.
pub const NOT_NEEDED: &[&str] = &[
    "debconf",
    "dpkg",
    "perl-base",
    "init-system-helpers",
    "sensible-utils",
    "debianutils",
    "adduser",
    "passwd",
    "login",
    "base-passwd",
    "libpam-runtime",
    "libpam-modules",
    "libpam-modules-bin",
    "systemd",
    "systemd-sysv",
    "libsystemd-shared",
    "sysvinit-utils",
    "lsb-base",
    "iproute2-doc",
];

/// The layer for `recipe` from the system in `system` (cached, so only
/// its digests are computed on later calls).
pub fn layer(
    cache: &Cache,
    entry_of_system: &Entry,
    system: &System,
    recipe: &Recipe,
) -> Result<LayerBlob> {
    let key = recipe.key(&system.key());
    let name = format!("{}-{}", system.purpose.name, recipe.name);
    let entry = cache.entry("layers", &name, &key);
    if !entry.is_complete() {
        let staging = entry
            .stage()
            .map_err(ImageError::io("creating", entry.dir()))?;
        let blob = cut(
            &entry_of_system.path(ROOTFS_DIR),
            &entry_of_system.path(APPLETS),
            recipe,
            &staging.path("layer.tar.gz"),
        )?;
        write_blob(&blob, &staging.path("layer.txt"))?;
        staging
            .commit(&key)
            .map_err(ImageError::io("completing", entry.dir()))?;
    }
    read_blob(&entry.path("layer.tar.gz"), &entry.path("layer.txt"))
}

/// Digests stored next to a cached layer, so a warm run does not hash it again.
pub fn write_blob(blob: &LayerBlob, path: &Path) -> Result<()> {
    let text = format!("{}\n{}\n{}\n", blob.diff_id, blob.digest, blob.size);
    std::fs::write(path, text).map_err(ImageError::io("writing", path))
}

pub fn read_blob(layer: &Path, path: &Path) -> Result<LayerBlob> {
    let text = std::fs::read_to_string(path).map_err(ImageError::io("reading", path))?;
    let mut lines = text.lines();
    let (Some(diff_id), Some(digest), Some(size)) = (lines.next(), lines.next(), lines.next())
    else {
        return Err(ImageError::Packages(format!(
            "{} does not hold a layer's digests",
            path.display()
        )));
    };
    Ok(LayerBlob {
        path: layer.to_path_buf(),
        diff_id: diff_id.to_string(),
        digest: digest.to_string(),
        size: size.parse().unwrap_or(0),
    })
}

/// Write the layer for `recipe` from the tree at `root`.
pub(super) fn cut(root: &Path, applets: &Path, recipe: &Recipe, out: &Path) -> Result<LayerBlob> {
    let io = |source| ImageError::Io {
        action: "cutting a layer from",
        path: root.to_path_buf(),
        source,
    };
    let status = std::fs::read_to_string(root.join("var/lib/dpkg/status")).map_err(io)?;
    let packages = dpkg::installed_packages(&status);
    let mut roots: Vec<&str> = recipe.packages.to_vec();
    if recipe.busybox_fill {
        roots.push("busybox-static");
    }
    let wanted = dpkg::closure(&packages, &roots, recipe.skip).map_err(ImageError::Packages)?;
    // Layer path (relative, symlinked directories resolved) → path in `root`.
    let mut files: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    for name in &wanted {
        for file in dpkg::package_files(root, &packages[name]).map_err(io)? {
            let rel = file.strip_prefix("/").unwrap_or(&file).to_path_buf();
            let placed = resolve_parents(root, &rel);
            files.insert(placed, rel);
        }
    }
    if wanted.contains("libc6") {
        for extra in ["etc/ld.so.cache", "etc/ld.so.conf"] {
            if root.join(extra).is_file() {
                files.insert(PathBuf::from(extra), PathBuf::from(extra));
            }
        }
    }
    let mut links: BTreeMap<PathBuf, String> = BTreeMap::new();
    // Commands chosen through /etc/alternatives, linked straight to the choice.
    for dir in ["usr/bin", "usr/sbin"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = Path::new(dir).join(entry.file_name());
            if files.contains_key(&path) {
                continue;
            }
            if let Some(target) = alternative(root, &path) {
                if files.contains_key(&target) {
                    links.insert(path, format!("/{}", target.display()));
                }
            }
        }
    }
    if recipe.busybox_fill {
        let list = std::fs::read_to_string(applets).map_err(ImageError::io("reading", applets))?;
        for applet in list.lines().map(str::trim).filter(|l| !l.is_empty()) {
            // Where busybox puts it, and /bin as well: upstream's busybox
            // image has every applet in /bin, and tests call them there
            // (`/bin/sysctl` in the Sysctls conformance test).
            let placed = resolve_parents(root, Path::new(applet));
            let in_bin = Path::new(applet)
                .file_name()
                .map(|name| resolve_parents(root, &Path::new("bin").join(name)));
            for place in std::iter::once(placed).chain(in_bin) {
                if place != Path::new("usr/bin/busybox")
                    && !files.contains_key(&place)
                    && !links.contains_key(&place)
                {
                    links.insert(place, "/usr/bin/busybox".to_string());
                }
            }
        }
    }

    // Merged-/usr: /bin, /lib64 (the dynamic loader's path) and the others
    // are links into /usr, written first so nothing creates them as
    // directories (base-files lists them among its files).
    const MERGED: [&str; 6] = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"];
    for dir in MERGED {
        files.remove(Path::new(dir));
    }
    let mut layer = LayerBuilder::create(out).map_err(ImageError::io("writing", out))?;
    let io = |source| ImageError::Io {
        action: "writing",
        path: out.to_path_buf(),
        source,
    };
    for dir in MERGED {
        if let Ok(target) = std::fs::read_link(root.join(dir)) {
            layer.symlink(dir, &target.to_string_lossy()).map_err(io)?;
        }
    }
    for (placed, rel) in &files {
        layer
            .copy_from(&placed.to_string_lossy(), &root.join(rel))
            .map_err(io)?;
    }
    for (path, target) in &links {
        layer.symlink(&path.to_string_lossy(), target).map_err(io)?;
    }
    layer.finish().map_err(io)
}
