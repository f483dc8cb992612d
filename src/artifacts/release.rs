//! Downloads: the official release layout (`<base>/<version>/bin/linux/<arch>/<name>`
//! with a `<name>.sha256` beside each binary) and explicit URLs with checksums.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tokio::process::Command;

use super::cache::{Cache, CacheKey};
use super::download::{download, fetch_text, parse_checksum_file};
use super::ArtifactError;
use crate::process;
use crate::settings::{
    Download, KubeVersion, KubernetesSource, KubernetesSourceSetting, VersionSpec,
};
use crate::ui::Ui;

/// Download `names` for `version`/`arch` from a release site, each verified
/// against its published sha256. Cached per file, so a partial failure
/// re-downloads only what is missing.
pub async fn official(
    ui: &Ui,
    base_url: &str,
    version: &KubeVersion,
    arch: &str,
    names: &[&str],
    cache: &Cache,
) -> Result<BTreeMap<String, PathBuf>, ArtifactError> {
    let mut files = BTreeMap::new();
    for name in names {
        let url = format!("{base_url}/{version}/bin/linux/{arch}/{name}");
        let key = CacheKey::new().with("url", &url);
        let entry = cache.entry("downloads", &format!("{name}-{version}-{arch}"), &key);
        if !entry.is_complete() {
            let staging = entry
                .stage()
                .map_err(|e| ArtifactError::io(entry.dir(), e))?;
            let path = staging.path(name);
            download_published(ui, &url, &path, name).await?;
            make_executable(&path)?;
            staging
                .commit(&key)
                .map_err(|e| ArtifactError::io(entry.dir(), e))?;
        }
        files.insert(name.to_string(), entry.path(name));
    }
    Ok(files)
}

/// Download `url` to `path`, verified against the sha256 the release site
/// publishes beside it (`<url>.sha256`).
async fn download_published(
    ui: &Ui,
    url: &str,
    path: &std::path::Path,
    name: &str,
) -> Result<(), ArtifactError> {
    let sum_url = format!("{url}.sha256");
    let expected = parse_checksum_file(&fetch_text(&sum_url).await?, &sum_url)?;
    let digests = download(ui, url, path, name).await?;
    digests.verify(&expected, name, url)
}

/// Download a tarball published beside a release's binaries
/// (`<base>/<version>/<file>`, with `<file>.sha256`), verify it and extract
/// `names` from its `bin/` directories, e.g. `e2e.test` and `ginkgo` from
/// `kubernetes-test-linux-<arch>.tar.gz`. Cached; the tarball itself is not kept.
pub async fn official_tarball(
    ui: &Ui,
    base_url: &str,
    version: &KubeVersion,
    file: &str,
    names: &[&str],
    cache: &Cache,
) -> Result<BTreeMap<String, PathBuf>, ArtifactError> {
    let url = format!("{base_url}/{version}/{file}");
    let key = CacheKey::new()
        .with("url", &url)
        .with("names", names.join(","));
    let entry = cache.entry("downloads", file.trim_end_matches(".tar.gz"), &key);
    if !entry.is_complete() {
        let staging = entry
            .stage()
            .map_err(|e| ArtifactError::io(entry.dir(), e))?;
        let fetched = staging.path(file);
        download_published(ui, &url, &fetched, file).await?;
        extract_from_tarball(&fetched, names, staging.dir(), &url).await?;
        let _ = std::fs::remove_file(&fetched);
        for name in names {
            if !staging.path(name).exists() {
                return Err(ArtifactError::NotInTarball {
                    url,
                    expected: name.to_string(),
                });
            }
        }
        staging
            .commit(&key)
            .map_err(|e| ArtifactError::io(entry.dir(), e))?;
    }
    Ok(names
        .iter()
        .map(|n| (n.to_string(), entry.path(n)))
        .collect())
}

/// Download one URL setting (`kubeadmUrl`, `kubectlUrl`, `hyperkubeUrl`).
/// A `.tar.gz` is taken to be a Kubernetes server or client tarball and the
/// binaries in `group` are extracted from it; otherwise the file is the one
/// binary its name says (which must belong to `group`).
pub async fn from_url(
    ui: &Ui,
    download_setting: &Download,
    group: &[&str],
    setting: &str,
    cache: &Cache,
) -> Result<BTreeMap<String, PathBuf>, ArtifactError> {
    let url = &download_setting.url;
    let file_name = url
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or("download")
        .to_string();
    let is_tarball = file_name.ends_with(".tar.gz") || file_name.ends_with(".tgz");
    let single = if is_tarball {
        None
    } else if group.len() == 1 {
        Some(group[0].to_string())
    } else if group.contains(&file_name.as_str()) {
        Some(file_name.clone())
    } else {
        return Err(ArtifactError::UnexpectedDownload {
            setting: setting.to_string(),
            url: url.clone(),
            expected: group.join(", "),
        });
    };
    let key = CacheKey::new()
        .with("url", url)
        .with(
            "checksum",
            download_setting
                .checksum
                .as_ref()
                .map(|c| c.to_string())
                .unwrap_or_default(),
        )
        .with("group", group.join(","));
    let entry = cache.entry("downloads", &file_name, &key);
    if !entry.is_complete() {
        let staging = entry
            .stage()
            .map_err(|e| ArtifactError::io(entry.dir(), e))?;
        let fetched = staging.path(&format!("fetched-{file_name}"));
        let digests = download(ui, url, &fetched, &file_name).await?;
        match &download_setting.checksum {
            Some(expected) => digests.verify(expected, &file_name, url)?,
            None => ui.warn(format!(
                "{file_name} from {url} was not verified (no checksum given, allowed by source.allowMissingChecksum); its sha256 is {}",
                hex::encode(digests.sha256)
            )),
        }
        match &single {
            Some(name) => {
                std::fs::rename(&fetched, staging.path(name))
                    .map_err(|e| ArtifactError::io(&fetched, e))?;
                make_executable(&staging.path(name))?;
            }
            None => {
                extract_from_tarball(&fetched, group, staging.dir(), url).await?;
                let _ = std::fs::remove_file(&fetched);
            }
        }
        staging
            .commit(&key)
            .map_err(|e| ArtifactError::io(entry.dir(), e))?;
    }
    let names: Vec<String> = match single {
        Some(n) => vec![n],
        None => group
            .iter()
            .map(|s| s.to_string())
            .filter(|n| entry.path(n).exists())
            .collect(),
    };
    Ok(names
        .into_iter()
        .map(|n| {
            let path = entry.path(&n);
            (n, path)
        })
        .collect())
}

/// Pull `kubernetes/{server,client,node,test}/bin/<name>` out of a release tarball.
async fn extract_from_tarball(
    tarball: &std::path::Path,
    group: &[&str],
    dest: &std::path::Path,
    url: &str,
) -> Result<(), ArtifactError> {
    let tarball = tarball.to_path_buf();
    let dest = dest.to_path_buf();
    let group: Vec<String> = group.iter().map(|s| s.to_string()).collect();
    let url = url.to_string();
    tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&tarball).map_err(|e| ArtifactError::io(&tarball, e))?;
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
        let mut found = Vec::new();
        let entries = archive
            .entries()
            .map_err(|e| ArtifactError::io(&tarball, e))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| ArtifactError::io(&tarball, e))?;
            let path = entry
                .path()
                .map_err(|e| ArtifactError::io(&tarball, e))?
                .into_owned();
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_string)
            else {
                continue;
            };
            let in_bin = path.parent().is_some_and(|p| p.ends_with("bin"));
            if in_bin && group.contains(&name) && entry.header().entry_type().is_file() {
                let out = dest.join(&name);
                entry.unpack(&out).map_err(|e| ArtifactError::io(&out, e))?;
                make_executable(&out)?;
                found.push(name);
            }
        }
        if found.is_empty() {
            return Err(ArtifactError::NotInTarball {
                url,
                expected: group.join(", "),
            });
        }
        Ok(())
    })
    .await
    .expect("extraction task panicked")
}

fn make_executable(path: &std::path::Path) -> Result<(), ArtifactError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| ArtifactError::io(path, e))
}

/// Turn a version setting into an exact version: `stable`/`latest`/`1.x`
/// are looked up on the release site (`stable.txt`, `latest.txt`,
/// `stable-1.x.txt`) or, for Go-module builds, in the Go module proxy.
pub async fn resolve_version(
    ui: &Ui,
    spec: &VersionSpec,
    setting: KubernetesSourceSetting,
    release_url: &str,
) -> Result<KubeVersion, ArtifactError> {
    if let VersionSpec::Exact(v) = spec {
        return Ok(v.clone());
    }
    let marker = match spec {
        VersionSpec::Stable => "stable.txt".to_string(),
        VersionSpec::Latest => "latest.txt".to_string(),
        VersionSpec::Minor { major, minor } => format!("stable-{major}.{minor}.txt"),
        VersionSpec::Exact(_) => unreachable!(),
    };
    let source = super::auto::version_source(setting, release_url, &marker).await;
    let text = match source {
        KubernetesSource::Release => fetch_text(&format!("{release_url}/{marker}")).await?,
        KubernetesSource::GoModule => {
            let mut cmd = Command::new("go");
            cmd.args(["list", "-m", "-versions", "k8s.io/kubernetes"])
                .env("GOTOOLCHAIN", "local")
                .env("GOFLAGS", "");
            let out = process::output(
                ui,
                cmd,
                "Install the Go toolchain to build Kubernetes from its Go module.",
            )
            .await?;
            let mut versions: Vec<KubeVersion> = out
                .split_whitespace()
                .skip(1)
                .filter_map(|v| v.parse().ok())
                .collect();
            versions.sort();
            let chosen = versions.into_iter().rev().find(|v| match spec {
                VersionSpec::Stable => v.pre.is_none(),
                VersionSpec::Latest => true,
                VersionSpec::Minor { major, minor } => {
                    v.pre.is_none() && v.major == *major && v.minor == *minor
                }
                VersionSpec::Exact(_) => unreachable!(),
            });
            match chosen {
                Some(v) => v.to_string(),
                None => return Err(ArtifactError::NoModuleVersion(spec.to_string())),
            }
        }
    };
    text.trim()
        .parse()
        .map_err(|reason| ArtifactError::BadVersion {
            spec: spec.to_string(),
            text: text.trim().to_string(),
            reason,
        })
}
