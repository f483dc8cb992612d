//! busybox built from its source, for the busybox test image.
//!
//! Two Conformance tests pull apart what Debian's `busybox-static` can give:
//! the ConfigMap and Secret tests pass environment variables whose names are
//! not shell identifiers (`data-1`) and read them back with `sh -c env`, and
//! the kubelet's read-only root filesystem test compares the shell's own
//! error message with busybox's (`/bin/sh: can't create /file: ...`). Upstream
//! busybox's shell keeps such variables; Debian reverts that change, so its
//! shell drops them, and no other shell words the error like busybox.
//!
//! So the busybox image gets upstream's busybox, as upstream's image does: the
//! source Debian ships for the suite (fetched by `apt-get source`, which
//! checks it against the archive's signed index with the host's Debian
//! keyring, as debootstrap checks the packages), built with busybox's default
//! configuration, statically linked. Cached by what it is made from.

use std::path::{Path, PathBuf};

use tokio::process::Command;

use crate::artifacts::cache::{Cache, CacheKey, Entry};
use crate::images::ImageError;
use crate::process;
use crate::ui::Ui;

type Result<T> = std::result::Result<T, ImageError>;

/// The built binary, in the cache entry.
pub const BINARY: &str = "bin/busybox";
/// `busybox --list-full`: where each applet goes.
pub const APPLETS: &str = "applets.txt";

/// Changes to busybox's default configuration: static (the image has no C
/// library), and no `tc`, which does not build against current kernel
/// headers (they dropped the CBQ scheduler it knows).
const CONFIG_CHANGES: [(&str, &str); 2] = [
    ("# CONFIG_STATIC is not set", "CONFIG_STATIC=y"),
    ("CONFIG_TC=y", "# CONFIG_TC is not set"),
];

/// Apt's keyring of the Debian archive, as debootstrap uses it.
const KEYRINGS: &str = "/usr/share/keyrings";

const BUILD_TOOLS: &str = "Building busybox for the busybox test image needs apt-get, tar, bzip2, \
     make and a C compiler with static libc (Debian: apt-get install make bzip2 gcc libc6-dev), \
     or use --image-source registry.";

/// busybox from Debian `suite`'s source at `mirror`, built for this host's
/// architecture (the test images are made for the host's, see
/// `rootfs::check_host_can_debootstrap`).
pub async fn build(ui: &Ui, cache: &Cache, suite: &str, mirror: &str, arch: &str) -> Result<Entry> {
    let mut key = CacheKey::new()
        .with("format", 1)
        .with("suite", suite)
        .with("mirror", mirror)
        .with("arch", arch);
    for (from, to) in CONFIG_CHANGES {
        key = key.with("config", format!("{from} -> {to}"));
    }
    let entry = cache.entry("busybox", &format!("busybox-{suite}-{arch}"), &key);
    if entry.is_complete() {
        return Ok(entry);
    }
    let staging = entry
        .stage()
        .map_err(ImageError::io("creating", entry.dir()))?;
    let work = staging.path("work");
    let tarball = fetch_source(ui, &work, suite, mirror).await?;
    let tree = work.join("busybox");
    std::fs::create_dir_all(&tree).map_err(ImageError::io("creating", &tree))?;
    let mut untar = Command::new("tar");
    untar
        .arg("-xf")
        .arg(&tarball)
        .arg("-C")
        .arg(&tree)
        .arg("--strip-components=1");
    process::run(ui, untar, BUILD_TOOLS, |_| {}).await?;
    configure(ui, &tree).await?;
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut make = Command::new("make");
    make.current_dir(&tree)
        .arg(format!("-j{jobs}"))
        .arg("busybox")
        // The binary says when it was built; keep it the same for the same source.
        .env("KCONFIG_NOTIMESTAMP", "1");
    process::run(ui, make, BUILD_TOOLS, |_| {}).await?;

    let binary = staging.path(BINARY);
    let bin_dir = binary.parent().expect("bin/busybox has a parent");
    std::fs::create_dir_all(bin_dir).map_err(ImageError::io("creating", bin_dir))?;
    let built = tree.join("busybox");
    std::fs::copy(&built, &binary).map_err(ImageError::io("copying", &built))?;
    let mut list = Command::new(&binary);
    list.arg("--list-full");
    let applets = process::output(ui, list, BUILD_TOOLS).await?;
    let applets_path = staging.path(APPLETS);
    std::fs::write(&applets_path, applets).map_err(ImageError::io("writing", &applets_path))?;
    std::fs::remove_dir_all(&work).map_err(ImageError::io("removing", &work))?;
    staging
        .commit(&key)
        .map_err(ImageError::io("completing", entry.dir()))
}

/// `apt-get source --download-only busybox` for `suite`, with apt's state
/// kept under `work` so the host's own apt configuration is neither used
/// nor touched; returns the upstream tarball.
async fn fetch_source(ui: &Ui, work: &Path, suite: &str, mirror: &str) -> Result<PathBuf> {
    let state = work.join("apt");
    let download = work.join("source");
    for dir in [
        state.join("lists/partial"),
        state.join("cache/archives/partial"),
        state.join("preferences.d"),
        download.clone(),
    ] {
        std::fs::create_dir_all(&dir).map_err(ImageError::io("creating", &dir))?;
    }
    let sources = state.join("sources.list");
    let line = format!("deb-src {} {suite} main\n", mirror.trim_end_matches('/'));
    std::fs::write(&sources, line).map_err(ImageError::io("writing", &sources))?;
    let options = apt_options(&state);
    let apt = |args: &[&str]| {
        let mut cmd = Command::new("apt-get");
        cmd.current_dir(&download).args(&options).args(args);
        cmd
    };
    process::run(ui, apt(&["update"]), BUILD_TOOLS, |_| {}).await?;
    process::run(
        ui,
        apt(&["source", "--download-only", "busybox"]),
        BUILD_TOOLS,
        |_| {},
    )
    .await?;
    let entries = std::fs::read_dir(&download).map_err(ImageError::io("reading", &download))?;
    entries
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("busybox_") && n.contains(".orig.tar."))
        })
        .ok_or_else(|| {
            ImageError::Packages(format!(
                "apt-get source busybox left no busybox_*.orig.tar.* in {}",
                download.display()
            ))
        })
}

/// apt with every file it reads or writes under `state`, except the
/// keyrings it verifies with. Nothing is installed, so no dpkg status.
fn apt_options(state: &Path) -> Vec<String> {
    let s = state.display();
    [
        format!("Dir::Etc::SourceList={s}/sources.list"),
        "Dir::Etc::SourceParts=/nonexistent".to_string(),
        format!("Dir::Etc::PreferencesParts={s}/preferences.d"),
        "Dir::Etc::Preferences=/nonexistent".to_string(),
        format!("Dir::Etc::TrustedParts={KEYRINGS}"),
        "Dir::Etc::Trusted=/nonexistent".to_string(),
        format!("Dir::State::Lists={s}/lists"),
        "Dir::State::status=/dev/null".to_string(),
        format!("Dir::Cache={s}/cache"),
        "Acquire::Languages=none".to_string(),
        // The lists are ours, not the host's: no lock, no sandbox user
        // (which could not write into the cache).
        "Debug::NoLocking=1".to_string(),
        "APT::Sandbox::User=root".to_string(),
    ]
    .into_iter()
    .flat_map(|o| ["-o".to_string(), o])
    .collect()
}

/// busybox's default configuration with [`CONFIG_CHANGES`].
async fn configure(ui: &Ui, tree: &Path) -> Result<()> {
    let mut defconfig = Command::new("make");
    defconfig.current_dir(tree).arg("defconfig");
    process::run(ui, defconfig, BUILD_TOOLS, |_| {}).await?;
    let path = tree.join(".config");
    let text = std::fs::read_to_string(&path).map_err(ImageError::io("reading", &path))?;
    let mut changed = text.clone();
    for (from, to) in CONFIG_CHANGES {
        if !changed.lines().any(|l| l == from) {
            return Err(ImageError::Packages(format!(
                "busybox's default configuration has no line {from:?} to change"
            )));
        }
        changed = changed
            .lines()
            .map(|l| if l == from { to } else { l })
            .collect::<Vec<_>>()
            .join("\n");
        changed.push('\n');
    }
    std::fs::write(&path, changed).map_err(ImageError::io("writing", &path))?;
    // Settles what the changes imply (stdin is empty: defaults for anything new).
    let mut oldconfig = Command::new("make");
    oldconfig.current_dir(tree).arg("oldconfig");
    process::run(ui, oldconfig, BUILD_TOOLS, |_| {}).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apt_reads_and_writes_only_its_own_state_and_the_keyrings() {
        let options = apt_options(Path::new("/c/apt"));
        let values: Vec<&String> = options.iter().skip(1).step_by(2).collect();
        assert!(options.iter().step_by(2).all(|o| o == "-o"));
        for v in values {
            let (_, path) = v.split_once('=').unwrap();
            assert!(
                !path.starts_with('/')
                    || path.starts_with("/c/apt/")
                    || path == KEYRINGS
                    || path == "/nonexistent"
                    || path == "/dev/null",
                "{v}"
            );
        }
    }
}
