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

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use crate::artifacts::cache::{Cache, CacheKey, Entry};
use crate::images::dpkg;
use crate::images::layer::{LayerBlob, LayerBuilder};
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
fn cut(root: &Path, applets: &Path, recipe: &Recipe, out: &Path) -> Result<LayerBlob> {
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

/// `rel` with its parent directories' symlinks resolved inside `root`
/// (`bin/sh` → `usr/bin/sh` on a merged-/usr system), relative again.
fn resolve_parents(root: &Path, rel: &Path) -> PathBuf {
    let Some(name) = rel.file_name() else {
        return rel.to_path_buf();
    };
    let mut dir = PathBuf::new();
    for part in rel.parent().into_iter().flat_map(Path::components) {
        let Component::Normal(part) = part else {
            continue;
        };
        dir.push(part);
        for _ in 0..8 {
            let Ok(target) = std::fs::read_link(root.join(&dir)) else {
                break;
            };
            dir = normalize(&if target.is_absolute() {
                target.strip_prefix("/").unwrap_or(&target).to_path_buf()
            } else {
                dir.parent().unwrap_or(Path::new("")).join(target)
            });
        }
    }
    dir.join(name)
}

/// Lexically resolve `.` and `..` in a relative path.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(p) => out.push(p),
            _ => {}
        }
    }
    out
}

/// Follow `rel` through /etc/alternatives to the file it selects (relative
/// to `root`); None when it is no alternative.
fn alternative(root: &Path, rel: &Path) -> Option<PathBuf> {
    let mut current = rel.to_path_buf();
    let mut through_alternatives = false;
    for _ in 0..8 {
        let Ok(target) = std::fs::read_link(root.join(&current)) else {
            break;
        };
        let next = if target.is_absolute() {
            target.strip_prefix("/").ok()?.to_path_buf()
        } else {
            current.parent()?.join(target)
        };
        current = resolve_parents(root, &normalize(&next));
        through_alternatives |= current.starts_with("etc/alternatives");
        if !current.starts_with("etc/alternatives") {
            break;
        }
    }
    through_alternatives.then_some(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A tiny merged-/usr tree with one package whose command is an
    /// alternative, and busybox.
    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in [
            "usr/bin",
            "usr/sbin",
            "etc/alternatives",
            "var/lib/dpkg/info",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        symlink("usr/bin", root.join("bin")).unwrap();
        symlink("usr/sbin", root.join("sbin")).unwrap();
        std::fs::write(root.join("usr/bin/nc.openbsd"), b"nc").unwrap();
        std::fs::write(root.join("usr/bin/busybox"), b"bb").unwrap();
        std::fs::write(root.join("usr/bin/dash"), b"dash").unwrap();
        symlink("dash", root.join("usr/bin/sh")).unwrap();
        symlink("/bin/nc.openbsd", root.join("etc/alternatives/nc")).unwrap();
        symlink("/etc/alternatives/nc", root.join("usr/bin/nc")).unwrap();
        std::fs::write(
            root.join("var/lib/dpkg/status"),
            "Package: netcat-openbsd\nStatus: install ok installed\nArchitecture: amd64\nDepends: dash\n\n\
             Package: dash\nStatus: install ok installed\nArchitecture: amd64\n\n\
             Package: busybox-static\nStatus: install ok installed\nArchitecture: amd64\n",
        )
        .unwrap();
        let info = root.join("var/lib/dpkg/info");
        std::fs::write(
            info.join("netcat-openbsd.list"),
            // base-files lists the merged-/usr links among its files
            "/.\n/bin\n/usr\n/usr/bin\n/usr/bin/nc.openbsd\n",
        )
        .unwrap();
        // an old-style path through the /bin link
        std::fs::write(info.join("dash.list"), "/.\n/bin/dash\n/usr/bin/sh\n").unwrap();
        std::fs::write(info.join("busybox-static.list"), "/.\n/usr/bin/busybox\n").unwrap();
        std::fs::write(
            root.join("applets"),
            "bin/sh\nusr/bin/wget\nsbin/ifconfig\nusr/bin/nc\n",
        )
        .unwrap();
        dir
    }

    fn entries(layer: &Path) -> Vec<(String, Option<String>)> {
        let gz = flate2::read::GzDecoder::new(std::fs::File::open(layer).unwrap());
        tar::Archive::new(gz)
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let name = e.path().unwrap().display().to_string();
                let link = e.link_name().unwrap().map(|l| l.display().to_string());
                (name, link)
            })
            .filter(|(name, _)| !name.ends_with('/'))
            .collect()
    }

    #[test]
    fn a_layer_holds_the_closure_alternatives_and_missing_applets() {
        let dir = tree();
        let out = dir.path().join("layer.tar.gz");
        let recipe = Recipe {
            name: "t",
            packages: &["netcat-openbsd"],
            skip: &[],
            busybox_fill: true,
        };
        cut(dir.path(), &dir.path().join("applets"), &recipe, &out).unwrap();
        let got = entries(&out);
        let link = |p: &str| got.iter().find(|(n, _)| n == p).map(|(_, l)| l.clone());
        // merged-/usr links, the closure, paths through /bin placed in /usr/bin
        assert_eq!(link("bin"), Some(Some("usr/bin".into())));
        assert_eq!(link("usr/bin/dash"), Some(None));
        assert!(link("bin/dash").is_none(), "{got:?}");
        assert_eq!(link("usr/bin/sh"), Some(Some("dash".into())));
        // the alternative links straight to its choice
        assert_eq!(link("usr/bin/nc"), Some(Some("/usr/bin/nc.openbsd".into())));
        // applets fill only what is missing
        assert_eq!(link("usr/bin/wget"), Some(Some("/usr/bin/busybox".into())));
        assert_eq!(
            link("usr/sbin/ifconfig"),
            Some(Some("/usr/bin/busybox".into()))
        );
        // every applet in /bin too, as in upstream's busybox image
        assert_eq!(
            link("usr/bin/ifconfig"),
            Some(Some("/usr/bin/busybox".into()))
        );
        // no path twice (`docker load` refuses that)
        let mut names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        let all = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all, "{got:?}");
    }

    #[test]
    fn without_fill_there_is_no_busybox() {
        let dir = tree();
        let out = dir.path().join("layer.tar.gz");
        let recipe = Recipe {
            name: "t",
            packages: &["netcat-openbsd"],
            skip: &["dash"],
            busybox_fill: false,
        };
        cut(dir.path(), &dir.path().join("applets"), &recipe, &out).unwrap();
        let names: Vec<String> = entries(&out).into_iter().map(|(n, _)| n).collect();
        assert!(names.contains(&"usr/bin/nc.openbsd".to_string()));
        assert!(
            !names
                .iter()
                .any(|n| n.contains("busybox") || n.contains("dash") || n == "usr/bin/wget"),
            "{names:?}"
        );
    }

    #[test]
    fn parents_resolve_through_relative_and_absolute_links() {
        let dir = tree();
        symlink("/usr/bin", dir.path().join("abs")).unwrap();
        assert_eq!(
            resolve_parents(dir.path(), Path::new("bin/x")),
            Path::new("usr/bin/x")
        );
        assert_eq!(
            resolve_parents(dir.path(), Path::new("abs/x")),
            Path::new("usr/bin/x")
        );
        assert_eq!(
            resolve_parents(dir.path(), Path::new("etc/x")),
            Path::new("etc/x")
        );
    }
}
