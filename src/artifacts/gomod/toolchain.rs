//! The local Go toolchain: the `go` command as every build runs it, its
//! version and environment.

use tokio::process::Command;

use crate::artifacts::ArtifactError;
use crate::process;
use crate::ui::Ui;

pub(super) const GO_MISSING: &str =
    "Install the Go toolchain (https://go.dev/dl/) and put `go` on PATH, \
     or use --kubernetes-source release / --image-source registry to download instead of building.";

pub(super) fn go(args: &[&str]) -> Command {
    let mut cmd = Command::new("go");
    cmd.args(args);
    // Never let go fetch a newer toolchain behind our back: a module that
    // needs one should fail with a clear message instead.
    cmd.env("GOTOOLCHAIN", "local");
    cmd.env("GOFLAGS", "-mod=mod");
    cmd
}

/// The local Go version, e.g. `go1.26.8`.
pub async fn go_version(ui: &Ui) -> Result<String, ArtifactError> {
    Ok(process::output(ui, go(&["env", "GOVERSION"]), GO_MISSING).await?)
}

/// `go env` values, one per name, in order.
pub async fn go_env(ui: &Ui, names: &[&str]) -> Result<Vec<String>, ArtifactError> {
    let mut args = vec!["env"];
    args.extend_from_slice(names);
    let out = process::output(ui, go(&args), GO_MISSING).await?;
    let values: Vec<String> = out.lines().map(str::to_string).collect();
    if values.len() != names.len() {
        return Err(ArtifactError::GoModule {
            spec: format!("go env {}", names.join(" ")),
            reason: format!("printed {out:?}"),
        });
    }
    Ok(values)
}

/// Refuse a local Go (`local`, `go1.26.8`) older than the `go` directive
/// (`required`, none when the go.mod has none) of module `spec`'s go.mod,
/// naming both, before a build that would fail on it after minutes.
pub fn require_go(spec: &str, required: Option<&str>, local: &str) -> Result<(), ArtifactError> {
    match required {
        Some(required) if !go_satisfies(required, local) => Err(ArtifactError::GoTooOld {
            module: spec.to_string(),
            required: required.to_string(),
            local: local.to_string(),
        }),
        _ => Ok(()),
    }
}

/// `1.26.0` ≤ `go1.26.8`?
pub(super) fn go_satisfies(required: &str, local: &str) -> bool {
    fn parts(v: &str) -> Vec<u32> {
        v.trim_start_matches("go")
            .split(|c: char| !c.is_ascii_digit())
            .take(3)
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    }
    let (mut r, mut l) = (parts(required), parts(local));
    r.resize(3, 0);
    l.resize(3, 0);
    l >= r
}
