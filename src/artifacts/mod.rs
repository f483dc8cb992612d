//! Kubernetes binaries from wherever the settings say: official release
//! downloads (checked against the published sha256), explicit URLs with
//! checksums, a Kubernetes source tree, or the Go module built locally.
//! Everything downloaded or built is cached by its inputs.

pub mod cache;
pub mod download;
pub mod gomod;
mod release;
mod source_tree;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use cache::{Cache, CacheKey};
pub use release::resolve_version;

use crate::process::ProcessError;
use crate::settings::{Download, KubeVersion, KubernetesSource};
use crate::ui::Ui;

/// Binaries installed on every node.
pub const NODE_BINARIES: [&str; 3] = ["kubeadm", "kubelet", "kubectl"];
/// Binaries that run the control plane and kube-proxy (as images), plus the
/// kubelet: what the `*Hyperkube*` settings cover (Kubernetes once shipped
/// them all as one `hyperkube` binary; the settings kept the name).
pub const SERVER_BINARIES: [&str; 5] = [
    "kubelet",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kube-proxy",
];
/// Everything a node image needs.
pub const ALL_BINARIES: [&str; 7] = [
    "kubeadm",
    "kubectl",
    "kubelet",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kube-proxy",
];

#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("cannot download {url}")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("cannot download {url}: HTTP {status}")]
    HttpStatus {
        url: String,
        status: reqwest::StatusCode,
    },
    #[error("cannot read {url}")]
    LocalFile {
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{url} should hold a hex sha1 or sha256, but holds {text:?}")]
    BadChecksumFile { url: String, text: String },
    #[error("checksum mismatch for {file} (downloaded from {url}): expected {algorithm} {expected}, got {actual}")]
    ChecksumMismatch {
        file: String,
        url: String,
        algorithm: &'static str,
        expected: String,
        actual: String,
    },
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("building {what} failed")]
    Build {
        what: String,
        #[source]
        source: ProcessError,
    },
    #[error("cannot download the Go module {spec}: {reason}")]
    GoModule { spec: String, reason: String },
    #[error("unexpected output of `{command}`")]
    GoOutput {
        command: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{module} needs Go {required} (its go.mod says so) but the local toolchain is {local}; install a newer Go from https://go.dev/dl/")]
    GoTooOld {
        module: String,
        required: String,
        local: String,
    },
    #[error(transparent)]
    Process(#[from] ProcessError),
    #[error(
        "source.{setting} {url}: expected a kubernetes-server-linux-<arch>.tar.gz or one of the \
         binaries {expected}, named by the URL's last path segment"
    )]
    UnexpectedDownload {
        setting: String,
        url: String,
        expected: String,
    },
    #[error(
        "{url} holds none of {expected} under kubernetes/*/bin/; is it a \
         kubernetes-server-linux-<arch>.tar.gz?"
    )]
    NotInTarball { url: String, expected: String },
    #[error("no published k8s.io/kubernetes version matches {0} in the Go module proxy")]
    NoModuleVersion(String),
    #[error("cannot resolve Kubernetes version {spec}: got {text:?}: {reason}")]
    BadVersion {
        spec: String,
        text: String,
        reason: String,
    },
    #[error("make finished but {} is missing", .0.display())]
    NotBuilt(PathBuf),
}

impl ArtifactError {
    pub fn io(path: &Path, source: std::io::Error) -> ArtifactError {
        ArtifactError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Where each Kubernetes binary should come from.
#[derive(Debug, Clone)]
pub struct BinaryPlan {
    pub version: KubeVersion,
    pub arch: String,
    pub source: KubernetesSource,
    pub release_url: String,
    pub kubeadm_url: Option<Download>,
    pub hyperkube_url: Option<Download>,
    pub kubectl_url: Option<Download>,
    /// The source tree and which groups to build from it.
    pub tree: Option<TreeBuild>,
}

#[derive(Debug, Clone)]
pub struct TreeBuild {
    pub dir: PathBuf,
    pub kubeadm: bool,
    pub server: bool,
    pub kubectl: bool,
}

/// The binaries for a node image: name → file.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub version: KubeVersion,
    pub files: BTreeMap<String, PathBuf>,
    /// Where each came from, for messages and the image label.
    pub origins: BTreeMap<String, String>,
}

impl Binaries {
    pub fn path(&self, name: &str) -> &Path {
        &self.files[name]
    }
}

/// The ldflags that make Kubernetes binaries report `version` (without them
/// kubeadm believes it is v0.0.0-master and refuses to install anything).
pub fn kubernetes_version_ldflags(version: &KubeVersion, build_date: &str) -> String {
    let mut flags = vec!["-s".to_string(), "-w".to_string()];
    for pkg in [
        "k8s.io/component-base/version",
        "k8s.io/client-go/pkg/version",
    ] {
        for (name, value) in [
            ("gitVersion", version.to_string()),
            ("gitMajor", version.major.to_string()),
            ("gitMinor", version.minor.to_string()),
            ("gitTreeState", "clean".to_string()),
            ("buildDate", build_date.to_string()),
        ] {
            flags.push(format!("-X {pkg}.{name}={value}"));
        }
    }
    flags.join(" ")
}

/// Gather every binary in `ALL_BINARIES` per the plan.
pub async fn kubernetes_binaries(
    plan: &BinaryPlan,
    cache: &Cache,
    ui: &Ui,
) -> Result<Binaries, ArtifactError> {
    let mut files = BTreeMap::new();
    let mut origins = BTreeMap::new();
    let mut wanted: Vec<&str> = ALL_BINARIES.to_vec();

    // Explicit choices first: the source tree, then URLs.
    if let Some(tree) = &plan.tree {
        let mut names: Vec<&str> = Vec::new();
        if tree.kubeadm {
            names.push("kubeadm");
        }
        if tree.kubectl {
            names.push("kubectl");
        }
        if tree.server {
            names.extend(SERVER_BINARIES);
        }
        let built = source_tree::build(ui, &tree.dir, &names, &plan.arch).await?;
        for (name, path) in built {
            origins.insert(name.clone(), format!("built in {}", tree.dir.display()));
            wanted.retain(|w| *w != name);
            files.insert(name, path);
        }
    }
    for (setting, download, group) in [
        ("kubeadmUrl", &plan.kubeadm_url, &["kubeadm"][..]),
        ("kubectlUrl", &plan.kubectl_url, &["kubectl"][..]),
        ("hyperkubeUrl", &plan.hyperkube_url, &SERVER_BINARIES[..]),
    ] {
        if let Some(download) = download {
            let got = release::from_url(ui, download, group, setting, cache).await?;
            for (name, path) in got {
                origins.insert(name.clone(), download.url.clone());
                wanted.retain(|w| *w != name);
                files.insert(name, path);
            }
        }
    }
    if !wanted.is_empty() {
        let (got, origin) = match plan.source {
            KubernetesSource::Release => (
                release::official(
                    ui,
                    &plan.release_url,
                    &plan.version,
                    &plan.arch,
                    &wanted,
                    cache,
                )
                .await?,
                format!("{}/{}", plan.release_url, plan.version),
            ),
            KubernetesSource::GoModule => (
                build_from_go_module(ui, &plan.version, &plan.arch, &wanted, cache).await?,
                format!("Go module k8s.io/kubernetes@{}", plan.version),
            ),
        };
        for (name, path) in got {
            origins.insert(name.clone(), origin.clone());
            files.insert(name, path);
        }
    }
    Ok(Binaries {
        version: plan.version.clone(),
        files,
        origins,
    })
}

async fn build_from_go_module(
    ui: &Ui,
    version: &KubeVersion,
    arch: &str,
    names: &[&str],
    cache: &Cache,
) -> Result<BTreeMap<String, PathBuf>, ArtifactError> {
    // Build all seven together so the cache entry serves every combination
    // of overrides; the compile cache makes the extra binaries cheap.
    let build = gomod::GoModuleBuild {
        module: "k8s.io/kubernetes".to_string(),
        version: version.to_string(),
        binaries: ALL_BINARIES
            .iter()
            .map(|b| (format!("k8s.io/kubernetes/cmd/{b}"), b.to_string()))
            .collect(),
        ldflags: kubernetes_version_ldflags(version, "1970-01-01T00:00:00Z"),
        tags: vec![],
        arch: arch.to_string(),
        sibling_version: gomod::kubernetes_staging_version,
    };
    let entry = build
        .build(ui, cache, &format!("Kubernetes {version}"))
        .await?;
    Ok(names
        .iter()
        .map(|n| (n.to_string(), entry.path("bin").join(n)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldflags_set_both_version_packages() {
        let v: KubeVersion = "v1.37.2".parse().unwrap();
        let flags = kubernetes_version_ldflags(&v, "2026-01-01T00:00:00Z");
        assert!(flags.contains("-X k8s.io/component-base/version.gitVersion=v1.37.2"));
        assert!(flags.contains("-X k8s.io/client-go/pkg/version.gitMinor=37"));
        assert!(flags.contains("-X k8s.io/component-base/version.gitMajor=1"));
    }
}
