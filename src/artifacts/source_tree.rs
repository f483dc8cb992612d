//! Building binaries in a Kubernetes source tree with its own make.

use std::path::{Path, PathBuf};

use tokio::process::Command;

use super::ArtifactError;
use crate::process;
use crate::ui::Ui;

/// `make WHAT="cmd/a cmd/b" KUBE_BUILD_PLATFORMS=linux/<arch>` in `dir`;
/// returns the built files under `_output/local/bin/linux/<arch>/`.
///
/// make is incremental, so nothing is cached here: the tree changes between
/// runs and Go's own build cache keeps rebuilds short.
pub async fn build(
    ui: &Ui,
    dir: &Path,
    names: &[&str],
    arch: &str,
) -> Result<Vec<(String, PathBuf)>, ArtifactError> {
    let what = names
        .iter()
        .map(|n| format!("cmd/{n}"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = Command::new("make");
    cmd.current_dir(dir)
        .arg("all")
        .arg(format!("WHAT={what}"))
        .arg(format!("KUBE_BUILD_PLATFORMS=linux/{arch}"))
        .env("GOTOOLCHAIN", "local");
    let bar = ui.count_bar(&format!("make {what}"), names.len() as u64);
    process::run(
        ui,
        cmd,
        "Building from a Kubernetes source tree needs make, bash and a Go toolchain matching the tree's go.mod.",
        |line| {
            if names.iter().any(|n| line.contains(&format!("cmd/{n}"))) {
                bar.inc(1);
            }
        },
    )
    .await
    .map_err(|source| ArtifactError::Build {
        what: format!("{what} in {}", dir.display()),
        source,
    })?;
    bar.finish_and_clear();
    let out = dir.join("_output/local/bin/linux").join(arch);
    names
        .iter()
        .map(|n| {
            let path = out.join(n);
            if path.is_file() {
                Ok((n.to_string(), path))
            } else {
                Err(ArtifactError::NotBuilt(path))
            }
        })
        .collect()
}
