//! Module versions in the local module cache: `go mod download` of one,
//! its source and files, and its go.mod as `go mod edit -json` reads it.

use std::path::PathBuf;

use serde::Deserialize;

use super::toolchain::{go, GO_MISSING};
use crate::artifacts::ArtifactError;
use crate::process;
use crate::ui::Ui;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ModFile {
    pub(super) go: Option<String>,
    // `go mod edit -json` writes null for empty lists.
    pub(super) go_debug: Option<Vec<GoDebug>>,
    pub(super) require: Option<Vec<Require>>,
    pub(super) replace: Option<Vec<Replace>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Require {
    pub(super) path: String,
    pub(super) version: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct GoDebug {
    pub(super) key: String,
    pub(super) value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Replace {
    pub(super) old: ModVersion,
    pub(super) new: ModVersion,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ModVersion {
    pub(super) path: String,
    pub(super) version: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DownloadJson {
    go_mod: Option<String>,
    dir: Option<String>,
    error: Option<String>,
}

/// A module version in the local module cache.
pub struct DownloadedModule {
    /// Its go.mod file.
    pub go_mod: String,
    /// Its extracted source.
    pub dir: PathBuf,
}

/// `go mod download` a module version (outside any module) and say where it is.
pub async fn download_module(
    ui: &Ui,
    module: &str,
    version: &str,
) -> Result<DownloadedModule, ArtifactError> {
    let spec = format!("{module}@{version}");
    let scratch = tempfile::tempdir().map_err(|e| ArtifactError::io(&std::env::temp_dir(), e))?;
    let mut cmd = go(&["mod", "download", "-json", &spec]);
    cmd.current_dir(scratch.path()).env("GOFLAGS", "");
    // On failure go still prints the JSON, with an Error field; prefer that.
    let json = match process::output(ui, cmd, GO_MISSING).await {
        Ok(out) => out,
        Err(process::ProcessError::Failed { output, .. }) => output,
        Err(source) => {
            return Err(ArtifactError::Build {
                what: format!("download {spec}"),
                source,
            })
        }
    };
    let start = json.find('{').unwrap_or(0);
    let parsed: DownloadJson =
        serde_json::from_str(&json[start..]).map_err(|source| ArtifactError::GoOutput {
            command: format!("go mod download -json {spec}"),
            source,
        })?;
    let failed = |reason: String| ArtifactError::GoModule {
        spec: spec.clone(),
        reason,
    };
    if let Some(err) = parsed.error {
        return Err(failed(err));
    }
    match (parsed.go_mod, parsed.dir) {
        (Some(go_mod), Some(dir)) => Ok(DownloadedModule {
            go_mod,
            dir: PathBuf::from(dir),
        }),
        _ => Err(failed(
            "go printed no go.mod or directory for it".to_string(),
        )),
    }
}

/// The extracted source of a module version.
pub async fn module_dir(ui: &Ui, module: &str, version: &str) -> Result<PathBuf, ArtifactError> {
    Ok(download_module(ui, module, version).await?.dir)
}

/// A module version's source directory and the text of its `file` (a
/// manifest the module publishes).
pub async fn module_file(
    ui: &Ui,
    module: &str,
    version: &str,
    file: &str,
) -> Result<(PathBuf, String), ArtifactError> {
    let dir = module_dir(ui, module, version).await?;
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).map_err(|e| ArtifactError::io(&path, e))?;
    Ok((dir, text))
}

/// The version of `dependency` that `module@version`'s go.mod requires, if any
/// (e.g. whether Kubernetes requires a staging module the proxy does not serve).
pub async fn required_version(
    ui: &Ui,
    module: &str,
    version: &str,
    dependency: &str,
) -> Result<Option<String>, ArtifactError> {
    let go_mod = download_module(ui, module, version).await?.go_mod;
    let parsed = read_go_mod(ui, &go_mod).await?;
    Ok(parsed
        .require
        .into_iter()
        .flatten()
        .find(|r| r.path == dependency)
        .and_then(|r| r.version))
}

/// `go mod edit -json` of a go.mod file.
pub(super) async fn read_go_mod(ui: &Ui, go_mod: &str) -> Result<ModFile, ArtifactError> {
    let mut cmd = go(&["mod", "edit", "-json", go_mod]);
    cmd.env("GOFLAGS", "");
    let json = process::output(ui, cmd, GO_MISSING).await?;
    serde_json::from_str(&json).map_err(|source| ArtifactError::GoOutput {
        command: format!("go mod edit -json {go_mod}"),
        source,
    })
}
