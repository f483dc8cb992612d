//! A Kubernetes source tree put together from the Go module proxy, for
//! machines that reach the proxy but not GitHub (and for our tests).
//!
//! The published `k8s.io/kubernetes` module is the repository minus what
//! Go module zips leave out: the staging modules under `staging/src/k8s.io`
//! (nested modules), `vendor/`, symbolic links (the root `Makefile` is one)
//! and file modes (no script is executable). Each is put back: every
//! staging module the tree's `go.work` uses is the published
//! `k8s.io/<name> v0.<minor>.<patch>` (one the proxy does not serve and
//! nothing requires, like the samples, is dropped from `go.work`), the
//! Makefile link is made again, files that start with `#!` become
//! executable. Without `vendor/` the build reads the module cache, so the
//! modules the binaries need are downloaded into it here, once. With git
//! on the machine the result is committed and tagged with its version, so
//! it is a checkout like any other: `git describe` says the version, and
//! `git status` whether it was changed.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::Deserialize;
use tokio::process::Command;

use super::SourceError;
use crate::artifacts::gomod;
use crate::artifacts::{ALL_BINARIES, KUBERNETES_TAGS};
use crate::process;
use crate::settings::KubeVersion;
use crate::ui::Ui;

const MODULE: &str = "k8s.io/kubernetes";
const STAGING: &str = "./staging/src/k8s.io/";

/// What was put together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assembled {
    /// Staging modules the proxy does not serve, dropped from go.work.
    pub dropped: Vec<String>,
    /// Whether the tree is a git checkout with a tag of its version.
    pub committed: bool,
}

/// Put the tree for `version` together in `dir` (new or empty).
pub async fn assemble(
    ui: &Ui,
    version: &KubeVersion,
    dir: &Path,
) -> Result<Assembled, SourceError> {
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(SourceError::NotEmpty(dir.to_path_buf()));
    }
    let dropped = put_together(ui, version, dir).await?;
    let committed = commit(ui, dir, version).await?;
    Ok(Assembled { dropped, committed })
}

/// The files of the tree, in `dir` (empty), without git: the staging
/// modules the proxy does not serve, which go.work no longer uses.
pub(super) async fn put_together(
    ui: &Ui,
    version: &KubeVersion,
    dir: &Path,
) -> Result<Vec<String>, SourceError> {
    let failed = |e: crate::artifacts::ArtifactError| SourceError::Assemble {
        dir: dir.to_path_buf(),
        source: Box::new(e),
    };
    let step = ui.step(format!(
        "Getting {MODULE}@{version} from the Go module proxy"
    ));
    let module = gomod::module_dir(ui, MODULE, &version.to_string())
        .await
        .map_err(failed)?;
    copy_module(&module, dir).await?;
    step.done();

    let step = ui.step("Getting the staging modules its go.work uses");
    let staging_version = gomod::kubernetes_staging_version("", &version.to_string());
    let mut dropped = Vec::new();
    for name in staging_uses(ui, dir).await? {
        let module_path = format!("k8s.io/{name}");
        step.progress(&module_path);
        match gomod::module_dir(ui, &module_path, &staging_version).await {
            Ok(source) => copy_module(&source, &dir.join(&STAGING[2..]).join(&name)).await?,
            Err(e) => {
                let required =
                    gomod::required_version(ui, MODULE, &version.to_string(), &module_path)
                        .await
                        .map_err(failed)?;
                if required.is_some() {
                    return Err(failed(e));
                }
                ui.note(format!(
                    "{module_path}@{staging_version} is not served ({}); nothing requires it, \
                     so go.work no longer uses it",
                    crate::error::chain(&e)
                ));
                go_in(
                    ui,
                    dir,
                    &["work", "edit", &format!("-dropuse={STAGING}{name}")],
                )
                .await?;
                dropped.push(module_path);
            }
        }
    }
    step.done();

    // The repository's root Makefile is a link to this one.
    std::os::unix::fs::symlink("build/root/Makefile", dir.join("Makefile"))
        .map_err(SourceError::io("linking the Makefile in", dir))?;

    // Kubernetes' make builds with GOPROXY=off: what it compiles must be
    // in the module cache first. The binaries, then the conformance tests
    // (`e2e` of a cluster built from the tree builds them here too).
    let step = ui.step("Downloading the modules the Kubernetes binaries and tests need");
    let binaries: Vec<String> = ALL_BINARIES.iter().map(|b| format!("./cmd/{b}")).collect();
    let tests = ["-test", "./test/e2e", "github.com/onsi/ginkgo/v2/ginkgo"];
    let tags = format!("-tags={}", KUBERNETES_TAGS.join(","));
    for packages in [
        binaries.iter().map(String::as_str).collect(),
        tests.to_vec(),
    ] {
        let mut args = vec!["list", "-deps", &tags, "-f", "{{.ImportPath}}"];
        args.extend(packages);
        go_in(ui, dir, &args).await?;
    }
    step.done();
    Ok(dropped)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GoWork {
    #[serde(rename = "Use")]
    uses: Option<Vec<Use>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Use {
    disk_path: String,
}

/// The staging modules (`api`, `client-go`, ...) the tree's go.work uses.
async fn staging_uses(ui: &Ui, dir: &Path) -> Result<Vec<String>, SourceError> {
    let json = go_in(ui, dir, &["work", "edit", "-json"]).await?;
    let work: GoWork = serde_json::from_str(&json).map_err(|e| SourceError::Io {
        action: "reading go.work in",
        path: dir.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })?;
    Ok(staging_names(
        work.uses
            .unwrap_or_default()
            .iter()
            .map(|u| u.disk_path.as_str()),
    ))
}

fn staging_names<'a>(paths: impl Iterator<Item = &'a str>) -> Vec<String> {
    paths
        .filter_map(|p| p.strip_prefix(STAGING))
        .filter(|name| !name.is_empty() && !name.contains('/'))
        .map(String::from)
        .collect()
}

async fn go_in(ui: &Ui, dir: &Path, args: &[&str]) -> Result<String, SourceError> {
    let mut cmd = Command::new("go");
    cmd.current_dir(dir)
        .args(args)
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "");
    Ok(process::output(
        ui,
        cmd,
        "Putting a source tree together needs the Go toolchain.",
    )
    .await?)
}

/// `copy_tree` on a thread of its own: the Kubernetes module alone is tens
/// of thousands of files. Copied on the async thread, they held up
/// everything else the command does at once (reading the output of a
/// debootstrap beside it) and a Ctrl-C or SIGTERM, which is seen only at
/// the next await, for as long as the copy took.
/// Dropped (the command stopped), the copy stops after the file it is at
/// and the drop waits for that, so whoever deletes `to` next (the staging
/// directory's guard) does not race it.
async fn copy_module(from: &Path, to: &Path) -> Result<(), SourceError> {
    let (from, to) = (from.to_path_buf(), to.to_path_buf());
    let stop = Arc::new(AtomicBool::new(false));
    let (done, result) = tokio::sync::oneshot::channel();
    let thread = std::thread::spawn({
        let stop = stop.clone();
        move || {
            let _ = done.send(copy_tree(&from, &to, &stop));
        }
    });
    let _joined_on_drop = StopAndJoin {
        stop,
        thread: Some(thread),
    };
    result.await.expect("the copying thread sends its result")
}

struct StopAndJoin {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for StopAndJoin {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Copy a module's files (read-only in the module cache) as a checkout has
/// them: writable, scripts executable. `vendor/` holds nothing but a stray
/// OWNERS file in a module zip and would make Go look for vendored packages.
/// Once `stop` is set it returns at the next file, its result unread.
fn copy_tree(from: &Path, to: &Path, stop: &AtomicBool) -> Result<(), SourceError> {
    std::fs::create_dir_all(to).map_err(SourceError::io("creating", to))?;
    let entries = std::fs::read_dir(from).map_err(SourceError::io("reading", from))?;
    for entry in entries {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let entry = entry.map_err(SourceError::io("reading", from))?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        let kind = entry
            .file_type()
            .map_err(SourceError::io("reading", &source))?;
        if kind.is_dir() {
            if from.join("go.mod").is_file() && entry.file_name() == "vendor" {
                continue;
            }
            copy_tree(&source, &target, stop)?;
        } else if kind.is_file() {
            let data = std::fs::read(&source).map_err(SourceError::io("reading", &source))?;
            let mode = if data.starts_with(b"#!") {
                0o755
            } else {
                0o644
            };
            std::fs::write(&target, &data).map_err(SourceError::io("writing", &target))?;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))
                .map_err(SourceError::io("setting the mode of", &target))?;
        }
    }
    Ok(())
}

/// `git init`, commit everything and tag it `version`; false when git is
/// not there (the tree then says its version otherwise, see `version`).
async fn commit(ui: &Ui, dir: &Path, version: &KubeVersion) -> Result<bool, SourceError> {
    let has_git = Command::new("git")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success());
    if !has_git {
        ui.note("git is not installed: the tree is not made a checkout");
        return Ok(false);
    }
    let step = ui.step(format!("Committing the tree as {version} (git)"));
    let message = format!("{MODULE} {version} from the Go module proxy");
    let tag = version.to_string();
    for args in [
        &["init", "-q"][..],
        &["add", "-A"],
        &[
            "-c",
            "user.name=local-cluster",
            "-c",
            "user.email=local-cluster@localhost",
            "commit",
            "-q",
            "--no-gpg-sign",
            "-m",
            &message,
        ],
        &["tag", &tag],
    ] {
        let mut cmd = Command::new("git");
        cmd.current_dir(dir).args(args);
        process::output(ui, cmd, "").await?;
    }
    step.done();
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn staging_modules_are_read_from_the_use_lines() {
        let names = staging_names(
            [
                ".",
                "./staging/src/k8s.io/api",
                "./staging/src/k8s.io/client-go",
                "./hack/tools",
            ]
            .into_iter(),
        );
        assert_eq!(names, ["api", "client-go"]);
    }

    #[test]
    fn copies_are_writable_scripts_executable_and_vendor_left_out() {
        let from = tempfile::tempdir().unwrap();
        let to = tempfile::tempdir().unwrap();
        let f = from.path();
        std::fs::write(f.join("go.mod"), "module k8s.io/kubernetes\n").unwrap();
        std::fs::create_dir_all(f.join("hack")).unwrap();
        std::fs::write(f.join("hack/build.sh"), "#!/usr/bin/env bash\n").unwrap();
        std::fs::write(f.join("README.md"), "hi\n").unwrap();
        std::fs::create_dir_all(f.join("vendor")).unwrap();
        std::fs::write(f.join("vendor/OWNERS"), "x\n").unwrap();
        for p in ["hack/build.sh", "README.md", "go.mod"] {
            std::fs::set_permissions(f.join(p), std::fs::Permissions::from_mode(0o444)).unwrap();
        }
        copy_tree(f, to.path(), &AtomicBool::new(false)).unwrap();
        let mode = |p: &str| {
            std::fs::metadata(to.path().join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("hack/build.sh"), 0o755);
        assert_eq!(mode("README.md"), 0o644);
        assert!(!to.path().join("vendor").exists());
    }

    fn count_files(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| match e.file_type() {
                        Ok(t) if t.is_dir() => count_files(&e.path()),
                        _ => 1,
                    })
                    .sum()
            })
            .unwrap_or(0)
    }

    fn many_files(n: usize) -> tempfile::TempDir {
        let from = tempfile::tempdir().unwrap();
        for d in 0..n / 100 {
            let dir = from.path().join(format!("d{d}"));
            std::fs::create_dir(&dir).unwrap();
            for f in 0..100 {
                std::fs::write(dir.join(format!("f{f}.go")), "package x\n").unwrap();
            }
        }
        from
    }

    #[tokio::test]
    async fn a_module_is_copied_off_the_async_thread() {
        let from = many_files(300);
        let to = tempfile::tempdir().unwrap();
        copy_module(from.path(), &to.path().join("tree"))
            .await
            .unwrap();
        assert_eq!(count_files(&to.path().join("tree")), 300);
    }

    #[tokio::test]
    async fn a_dropped_copy_stops_before_the_drop_returns() {
        let from = many_files(5000);
        let to = tempfile::tempdir().unwrap();
        let tree = to.path().join("tree");
        // Polled once (the thread starts), then dropped by the timeout.
        let stopped = tokio::time::timeout(Duration::ZERO, copy_module(from.path(), &tree)).await;
        assert!(stopped.is_err(), "the copy was not still running");
        let at_drop = count_files(&tree);
        assert!(at_drop < 5000, "{at_drop} files: the copy was not stopped");
        // Nothing is written after the drop: the guard joined the thread.
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(count_files(&tree), at_drop);
    }
}
