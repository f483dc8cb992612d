//! Published Kubernetes versions, built the way a source tree is.
//!
//! The Go build cache keys every compiled package on its module's path and
//! version (with `-trimpath`): a package of `k8s.io/kubernetes@v1.37.2`,
//! required as a module, and the same package in a checkout (the main
//! module, no version) are two compiles. So the node image's binaries and
//! the conformance tests of a release are built in a tree put together from
//! the Go module proxy ([`super::assemble`]), kept once per version under the
//! tool's cache, with the builder a user's tree gets (the tree's `make`, or
//! `go`): a user's tree of the same version, its `make` and its `e2e.test`
//! then compile only what the user changed.
//!
//! The tree is assembled beside its place and renamed into it whole; builds
//! in it hold a lock on it (`make` writes under `_output`). What a build
//! makes is moved into a cache entry, so later runs need neither the tree
//! nor `make`.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use super::build::{self, Target};
use super::SourceError;
use crate::artifacts::{gomod, Cache, CacheKey, VersionStamp, ALL_BINARIES};
use crate::settings::KubeVersion;
use crate::ui::Ui;

/// Bumped when what a build puts in its entry changes.
const FORMAT: u32 = 1;

/// The tree of `version` under the cache, put together if it is not there.
fn tree_dir(cache: &Cache, version: &KubeVersion) -> PathBuf {
    cache
        .root()
        .join("trees")
        .join(format!("kubernetes-{version}"))
}

/// Beside the tree (its name has dots: no `with_extension`).
fn lock_file(cache: &Cache, version: &KubeVersion) -> PathBuf {
    tree_dir(cache, version).with_file_name(format!("kubernetes-{version}.lock"))
}

/// Held while a tree is assembled or built in; released on drop.
struct TreeLock(#[allow(dead_code)] Flock<File>);

async fn lock(path: PathBuf) -> Result<TreeLock, SourceError> {
    let parent = path.parent().expect("a lock file has a directory");
    std::fs::create_dir_all(parent).map_err(SourceError::io("creating", parent))?;
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(SourceError::io("opening", &path))?;
    // A build of the same tree by another command waits here (minutes).
    let locked = tokio::task::spawn_blocking(move || Flock::lock(file, FlockArg::LockExclusive))
        .await
        .expect("the lock task does not panic");
    locked.map(TreeLock).map_err(|(_, errno)| SourceError::Io {
        action: "locking",
        path,
        source: errno.into(),
    })
}

/// The tree of `version`, locked for a build.
async fn locked_tree(
    ui: &Ui,
    cache: &Cache,
    version: &KubeVersion,
) -> Result<(PathBuf, TreeLock), SourceError> {
    let dir = tree_dir(cache, version);
    let guard = lock(lock_file(cache, version)).await?;
    if !dir.join("go.work").is_file() {
        let parent = dir.parent().expect("trees live in a directory");
        let prefix = format!(".kubernetes-{version}-");
        // Under the lock, another's staging directory is one a killed
        // command left.
        for left in std::fs::read_dir(parent)
            .map_err(SourceError::io("reading", parent))?
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        {
            let _ = std::fs::remove_dir_all(left.path());
        }
        let staging = tempfile::Builder::new()
            .prefix(&prefix)
            .tempdir_in(parent)
            .map_err(SourceError::io("creating a directory in", parent))?;
        super::assemble::put_together(ui, version, staging.path()).await?;
        if dir.exists() {
            // Left by an older layout or a failed removal.
            std::fs::remove_dir_all(&dir).map_err(SourceError::io("removing", &dir))?;
        }
        let staged = staging.keep();
        std::fs::rename(&staged, &dir).map_err(SourceError::io("moving the tree to", &dir))?;
    }
    Ok((dir, guard))
}

/// Build `targets` of the published `version` for linux/`arch` (or take
/// them from the cache): file name → path in the entry.
async fn built(
    ui: &Ui,
    cache: &Cache,
    version: &KubeVersion,
    arch: &str,
    entry_name: &str,
    targets: &[Target],
) -> Result<BTreeMap<String, PathBuf>, SourceError> {
    let go = gomod::go_version(ui).await?;
    let mut key = CacheKey::new()
        .with("format", FORMAT)
        .with("version", version)
        .with("arch", arch)
        .with("go", &go);
    for target in targets {
        key = key.with("file", target.file());
    }
    let entry = cache.entry(
        "kubernetes-build",
        &format!("{entry_name}-{version}-{arch}"),
        &key,
    );
    let paths = |dir: &Path| -> BTreeMap<String, PathBuf> {
        targets
            .iter()
            .map(|t| (t.file().to_string(), dir.join("bin").join(t.file())))
            .collect()
    };
    if entry.is_complete() {
        return Ok(paths(entry.dir()));
    }
    let (tree, _guard) = locked_tree(ui, cache, version).await?;
    if entry.is_complete() {
        // Made by the command that held the lock before.
        return Ok(paths(entry.dir()));
    }
    check_go(&tree, version, &go)?;
    let made =
        build::build_targets(ui, &tree, &VersionStamp::release(version), targets, arch).await?;
    let staging = entry
        .stage()
        .map_err(SourceError::io("staging", entry.dir()))?;
    let bin = staging.path("bin");
    std::fs::create_dir_all(&bin).map_err(SourceError::io("creating", &bin))?;
    for (name, path) in &made {
        // Moved, not copied: the tree's output is only this entry's input.
        let to = bin.join(name);
        if std::fs::rename(path, &to).is_err() {
            std::fs::copy(path, &to).map_err(SourceError::io("copying", path))?;
            let _ = std::fs::remove_file(path);
        }
    }
    // What else make left (the `go install` copies): the next build links again.
    let output = tree.join("_output");
    std::fs::remove_dir_all(&output).map_err(SourceError::io("removing", &output))?;
    let entry = staging
        .commit(&key)
        .map_err(SourceError::io("filling the cache entry", entry.dir()))?;
    Ok(paths(entry.dir()))
}

/// Refuse a Go older than the tree's `go.mod` asks for, before its build.
fn check_go(tree: &Path, version: &KubeVersion, local: &str) -> Result<(), SourceError> {
    let path = tree.join("go.mod");
    let text = std::fs::read_to_string(&path).map_err(SourceError::io("reading", &path))?;
    let required = text
        .lines()
        .find_map(|l| l.strip_prefix("go "))
        .map(str::trim);
    gomod::require_go(&format!("k8s.io/kubernetes@{version}"), required, local)?;
    Ok(())
}

/// The Kubernetes programs `names` (`kubelet`, `kubeadm`, ...) of
/// `version`. All seven are built together, so the one entry serves every
/// combination of programs taken from elsewhere (a tree, a URL); the
/// compiles they share make the others cheap.
pub async fn binaries(
    ui: &Ui,
    cache: &Cache,
    version: &KubeVersion,
    arch: &str,
    names: &[&str],
) -> Result<BTreeMap<String, PathBuf>, SourceError> {
    let targets: Vec<Target> = ALL_BINARIES
        .iter()
        .map(|n| Target::Command(n.to_string()))
        .collect();
    let mut all = built(ui, cache, version, arch, "kubernetes", &targets).await?;
    all.retain(|name, _| names.contains(&name.as_str()));
    Ok(all)
}

/// `e2e.test` and `ginkgo` of `version`, for `arch`.
pub async fn test_binaries(
    ui: &Ui,
    cache: &Cache,
    version: &KubeVersion,
    arch: &str,
) -> Result<(PathBuf, PathBuf), SourceError> {
    let mut got = built(
        ui,
        cache,
        version,
        arch,
        "e2e.test",
        &[Target::E2eTest, Target::Ginkgo],
    )
    .await?;
    let e2e = got.remove("e2e.test").expect("built");
    let ginkgo = got.remove("ginkgo").expect("built");
    Ok((e2e, ginkgo))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_lock_on_a_tree_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.lock");
        let first = lock(path.clone()).await.unwrap();
        let second = tokio::spawn(lock(path));
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(!second.is_finished(), "the second lock did not wait");
        drop(first);
        tokio::time::timeout(std::time::Duration::from_secs(5), second)
            .await
            .expect("the second lock is taken once the first is gone")
            .unwrap()
            .unwrap();
    }

    #[test]
    fn a_go_older_than_the_tree_asks_for_is_refused_naming_both() {
        let tree = tempfile::tempdir().unwrap();
        std::fs::write(
            tree.path().join("go.mod"),
            "module k8s.io/kubernetes\n\ngo 1.26.0\n",
        )
        .unwrap();
        let v: KubeVersion = "v1.37.2".parse().unwrap();
        check_go(tree.path(), &v, "go1.26.8").unwrap();
        let text = check_go(tree.path(), &v, "go1.25.4")
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("k8s.io/kubernetes@v1.37.2 needs Go 1.26.0")
                && text.contains("the local toolchain is go1.25.4"),
            "{text}"
        );
    }

    #[test]
    fn each_version_has_its_tree() {
        let cache = Cache::new("/c");
        let v: KubeVersion = "v1.37.2".parse().unwrap();
        assert_eq!(
            tree_dir(&cache, &v),
            Path::new("/c/trees/kubernetes-v1.37.2")
        );
        assert_eq!(
            lock_file(&cache, &v),
            Path::new("/c/trees/kubernetes-v1.37.2.lock")
        );
    }
}
