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
    compiler_memory(&mut cmd);
    // Never let go fetch a newer toolchain behind our back: a module that
    // needs one should fail with a clear message instead.
    cmd.env("GOTOOLCHAIN", "local");
    cmd.env("GOFLAGS", "-mod=mod");
    cmd
}

/// GOGC of the Go compiler in a build on a machine with `memory` bytes and
/// `cores` processors (Go compiles that many packages at once), unless the
/// user set their own (`user`). The compiler is a Go program whose collector
/// runs each time its heap doubles (GOGC=100); with memory to spare it may
/// grow further first: fewer collections, the same output and cache keys.
/// Measured by bench/go-gc.sh (bench/results/go-gc-2026-12-07.md) on the
/// largest package of the Kubernetes build: 5 % less CPU, its peak 430 MiB
/// to 556 MiB; hence only with 2 GiB or more for each compile at once.
pub fn compiler_gogc(user: Option<&str>, memory: Option<u64>, cores: usize) -> Option<u32> {
    const GIB: u64 = 1 << 30;
    if user.is_some_and(|v| !v.is_empty()) {
        return None;
    }
    (memory? / cores.max(1) as u64 >= 2 * GIB).then_some(400)
}

/// Set `cmd`'s GOGC as [`compiler_gogc`] decides for this machine; every
/// compiling `go` or `make` is run through this.
pub fn compiler_memory(cmd: &mut Command) {
    let user = std::env::var("GOGC").ok();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if let Some(gogc) = compiler_gogc(user.as_deref(), crate::memory::total(), cores) {
        cmd.env("GOGC", gogc.to_string());
    }
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
