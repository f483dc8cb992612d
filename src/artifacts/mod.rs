//! Kubernetes binaries from wherever the settings say: official release
//! downloads (checked against the published sha256), explicit URLs with
//! checksums, a Kubernetes source tree, or the Go module built locally.
//! Everything downloaded or built is cached by its inputs.

pub mod auto;
pub mod cache;
pub mod download;
pub mod gomod;
pub mod release;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use cache::{Cache, CacheKey};
pub use release::resolve_version;

use crate::process::ProcessError;
use crate::settings::{Download, KubeVersion, KubernetesSource, KubernetesSourceSetting};
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

/// The build tags of Kubernetes' own release build (`hack/lib/golang.sh`
/// without `DBG`). Every Kubernetes build here uses them, and `-trimpath`,
/// cgo off and no gcflags like it: compiled packages are then the same
/// actions whichever build asks for them (node image, `e2e.test`, a source
/// tree's `go build` or `make`), so the Go build cache compiles each once.
pub const KUBERNETES_TAGS: [&str; 3] = ["selinux", "notest", "grpcnotrace"];

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
        "{url} holds none of {expected} under kubernetes/*/bin/; is it the right \
         kubernetes-*-linux-<arch>.tar.gz?"
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
    /// A [`TreeBuilder`]'s failure.
    #[error(transparent)]
    Tree(Box<dyn std::error::Error + Send + Sync>),
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
    /// For the binaries no tree or URL gives; `auto` is decided on use.
    pub source: KubernetesSourceSetting,
    pub release_url: String,
    pub kubeadm_url: Option<Download>,
    pub hyperkube_url: Option<Download>,
    pub kubectl_url: Option<Download>,
    /// The source tree and which groups to build from it.
    pub tree: Option<TreeBuild>,
}

impl BinaryPlan {
    /// Does any binary come from `source` (not the tree nor a URL)?
    pub fn needs_source(&self) -> bool {
        let tree = self.tree.as_ref();
        let kubeadm = self.kubeadm_url.is_some() || tree.is_some_and(|t| t.kubeadm);
        let kubectl = self.kubectl_url.is_some() || tree.is_some_and(|t| t.kubectl);
        let server = self.hyperkube_url.is_some() || tree.is_some_and(|t| t.server);
        !(kubeadm && kubectl && server)
    }
}

#[derive(Debug, Clone)]
pub struct TreeBuild {
    pub dir: PathBuf,
    pub kubeadm: bool,
    pub server: bool,
    pub kubectl: bool,
    /// The tree's version, stamped into what is built.
    pub stamp: VersionStamp,
}

/// The binaries for a node image: name → file.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub version: KubeVersion,
    pub files: BTreeMap<String, PathBuf>,
    /// Where each came from, for messages and the image label.
    pub origins: BTreeMap<String, String>,
    /// The source tree `version` was built from, if any: what else the node
    /// image takes from Kubernetes' sources (pause) comes from it, as a
    /// tree's version (`v1.37.2-dirty`) is no module version.
    pub source_tree: Option<PathBuf>,
}

impl Binaries {
    pub fn path(&self, name: &str) -> &Path {
        &self.files[name]
    }
}

/// What Kubernetes binaries say about themselves (`kubectl version`), set
/// at link time on `k8s.io/component-base/version` and
/// `k8s.io/client-go/pkg/version`. Without it kubeadm believes it is
/// v0.0.0-master and refuses to install anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionStamp {
    pub version: KubeVersion,
    pub major: String,
    /// With `+` after a pre-release or local build, as Kubernetes writes it.
    pub minor: String,
    /// Empty when unknown.
    pub commit: String,
    /// clean, dirty (or archive).
    pub tree_state: String,
    /// Seconds since 1970: the build date (fixed, so builds are reproducible).
    pub build_epoch: u64,
}

impl VersionStamp {
    /// A published release, built from its Go module.
    pub fn release(version: &KubeVersion) -> VersionStamp {
        VersionStamp {
            version: version.clone(),
            major: version.major.to_string(),
            minor: version.minor.to_string(),
            commit: String::new(),
            tree_state: "clean".to_string(),
            build_epoch: 0,
        }
    }

    /// A build of a tree at `commit`.
    pub fn tree(version: KubeVersion, commit: &str, state: &str, epoch: u64) -> VersionStamp {
        let minor = match version.pre {
            Some(_) => format!("{}+", version.minor),
            None => version.minor.to_string(),
        };
        VersionStamp {
            major: version.major.to_string(),
            minor,
            version,
            commit: commit.to_string(),
            tree_state: state.to_string(),
            build_epoch: epoch,
        }
    }

    /// A tree without history, taken to be `configured` with changes.
    pub fn untracked(configured: &KubeVersion) -> VersionStamp {
        let mut version = configured.clone();
        version.pre = Some(match &configured.pre {
            Some(pre) => format!("{pre}-dirty"),
            None => "dirty".to_string(),
        });
        VersionStamp::tree(version, "", "dirty", 0)
    }

    pub fn build_date(&self) -> String {
        crate::time::rfc3339(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(self.build_epoch),
        )
    }

    /// `go build -ldflags` for it (stripped binaries).
    pub fn ldflags(&self) -> String {
        let mut flags = vec!["-s".to_string(), "-w".to_string()];
        let mut values = vec![
            ("gitVersion", self.version.to_string()),
            ("gitMajor", self.major.clone()),
            ("gitMinor", self.minor.clone()),
            ("gitTreeState", self.tree_state.clone()),
            ("buildDate", self.build_date()),
        ];
        if !self.commit.is_empty() {
            values.push(("gitCommit", self.commit.clone()));
        }
        for pkg in [
            "k8s.io/component-base/version",
            "k8s.io/client-go/pkg/version",
        ] {
            for (name, value) in &values {
                flags.push(format!("-X {pkg}.{name}={value}"));
            }
        }
        flags.join(" ")
    }

    /// The same as the file Kubernetes' `hack/lib/version.sh` reads from
    /// `KUBE_GIT_VERSION_FILE` (shell assignments), for `make`.
    pub fn version_file(&self) -> String {
        format!(
            "KUBE_GIT_COMMIT='{}'\nKUBE_GIT_TREE_STATE='{}'\nKUBE_GIT_VERSION='{}'\n\
             KUBE_GIT_MAJOR='{}'\nKUBE_GIT_MINOR='{}'\n",
            self.commit, self.tree_state, self.version, self.major, self.minor
        )
    }
}

/// Builds binaries in a Kubernetes source tree. The source-tree layer
/// ([`crate::source`], above this one) is the builder; it is passed in.
pub trait TreeBuilder {
    /// Build the binaries `tree` selects, for `arch`: name → file.
    fn build(
        &self,
        ui: &Ui,
        tree: &TreeBuild,
        arch: &str,
    ) -> impl std::future::Future<
        Output = Result<Vec<(String, PathBuf)>, Box<dyn std::error::Error + Send + Sync>>,
    >;

    /// Build `names` of the published `version` for `arch` from its Go
    /// modules, as a tree of it would be built (or take them from `cache`).
    fn release(
        &self,
        ui: &Ui,
        cache: &Cache,
        version: &KubeVersion,
        arch: &str,
        names: &[&str],
    ) -> impl std::future::Future<
        Output = Result<BTreeMap<String, PathBuf>, Box<dyn std::error::Error + Send + Sync>>,
    >;
}

/// Gather every binary in `ALL_BINARIES` per the plan; `trees` builds
/// those the plan's source tree gives.
pub async fn kubernetes_binaries(
    plan: &BinaryPlan,
    cache: &Cache,
    ui: &Ui,
    trees: &impl TreeBuilder,
) -> Result<Binaries, ArtifactError> {
    let mut files = BTreeMap::new();
    let mut origins = BTreeMap::new();
    let mut wanted: Vec<&str> = ALL_BINARIES.to_vec();

    // Explicit choices first: the source tree, then URLs.
    let mut version = plan.version.clone();
    let mut source_tree = None;
    if let Some(tree) = &plan.tree {
        let built = trees
            .build(ui, tree, &plan.arch)
            .await
            .map_err(ArtifactError::Tree)?;
        // The cluster runs the server binaries' version.
        if tree.server {
            version = tree.stamp.version.clone();
            source_tree = Some(tree.dir.clone());
        }
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
        let source = match plan.source.fixed() {
            Some(source) => source,
            None => {
                auto::kubernetes_source(plan.source, &plan.release_url, &plan.version, &plan.arch)
                    .await
                    .source
            }
        };
        let (got, origin) = match source {
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
                format!("the release site {}/{}", plan.release_url, plan.version),
            ),
            KubernetesSource::GoModule => (
                trees
                    .release(ui, cache, &plan.version, &plan.arch, &wanted)
                    .await
                    .map_err(ArtifactError::Tree)?,
                format!(
                    "built from the Go module k8s.io/kubernetes@{} as a source tree",
                    plan.version
                ),
            ),
        };
        for (name, path) in got {
            origins.insert(name.clone(), origin.clone());
            files.insert(name, path);
        }
    }
    Ok(Binaries {
        version,
        files,
        origins,
        source_tree,
    })
}

#[cfg(test)]
mod tests;
