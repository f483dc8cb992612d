//! The conformance test binaries for the cluster's version: `e2e.test` (the
//! suite) and `ginkgo` (the runner that spreads it over processes).
//!
//! They run on this host against the API server, so they are made for the
//! host's architecture, whatever the nodes run. With `kubernetesSource:
//! release` both come from the official `kubernetes-test-linux-<arch>.tar.gz`
//! (verified against its published sha256); with `go-module` they are built
//! in the tree of that version put together from the Go module proxy, where
//! the node image's binaries were built (so the Go build cache they filled
//! is reused), ginkgo at the version Kubernetes' go.mod requires, because
//! the CLI and the library in the suite must speak the same protocol.
//! A cluster built from a source tree runs the tests of that tree: both are
//! built there, by the tree's own make (or `go`), like its other binaries.

use std::path::PathBuf;

use super::E2eError;
use crate::artifacts::{release, ArtifactError, Cache, VersionStamp};
use crate::settings::{KubeVersion, KubernetesSource, KubernetesSourceSetting};
use crate::source;
use crate::ui::Ui;

/// Where the test binaries come from.
#[derive(Debug, Clone)]
pub struct TestBinaryPlan {
    pub version: KubeVersion,
    pub source: KubernetesSourceSetting,
    pub release_url: String,
    /// The source tree the cluster was built from: the tests are built in it.
    pub tree: Option<TestTree>,
}

/// A source tree and the version stamp of the cluster built from it.
#[derive(Debug, Clone)]
pub struct TestTree {
    pub dir: PathBuf,
    pub stamp: VersionStamp,
}

impl TestBinaryPlan {
    /// The version whose test images the tests use: the cluster's, or for a
    /// tree's build the release it was made from (the tree's own images
    /// are those of its tag unless it changed test/images).
    pub fn images_version(&self) -> KubeVersion {
        self.version.release_base()
    }
}

/// The two binaries, ready to run.
#[derive(Debug, Clone)]
pub struct TestBinaries {
    pub e2e_test: PathBuf,
    pub ginkgo: PathBuf,
    /// Where they came from, for the step line.
    pub origin: String,
}

/// The Go name of this host's architecture.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "s390x" => "s390x",
        other => other,
    }
}

/// Download or build (or take from the cache) `e2e.test` and `ginkgo`.
pub async fn ensure(
    plan: &TestBinaryPlan,
    cache: &Cache,
    ui: &Ui,
) -> Result<TestBinaries, E2eError> {
    match &plan.tree {
        Some(tree) => from_tree(tree, ui).await.map_err(E2eError::TreeBinaries),
        None => published(plan, cache, ui).await.map_err(E2eError::Binaries),
    }
}

async fn from_tree(tree: &TestTree, ui: &Ui) -> Result<TestBinaries, source::SourceError> {
    let (e2e_test, ginkgo) =
        source::build::test_binaries(ui, &tree.dir, &tree.stamp, host_arch()).await?;
    Ok(TestBinaries {
        e2e_test,
        ginkgo,
        origin: format!(
            "built in the source tree {} ({})",
            tree.dir.display(),
            tree.stamp.version
        ),
    })
}

/// The binaries of a published version: the release's tarball, or built
/// from its Go module.
async fn published(
    plan: &TestBinaryPlan,
    cache: &Cache,
    ui: &Ui,
) -> Result<TestBinaries, ArtifactError> {
    let arch = host_arch();
    let choice = crate::artifacts::auto::kubernetes_source(
        plan.source,
        &plan.release_url,
        &plan.version,
        arch,
    )
    .await;
    ui.note(format!("e2e.test and ginkgo: {}", choice.why));
    match choice.source {
        KubernetesSource::Release => {
            let file = format!("kubernetes-test-linux-{arch}.tar.gz");
            let got = release::official_tarball(
                ui,
                &plan.release_url,
                &plan.version,
                &file,
                &["e2e.test", "ginkgo"],
                cache,
            )
            .await?;
            Ok(TestBinaries {
                e2e_test: got["e2e.test"].clone(),
                ginkgo: got["ginkgo"].clone(),
                origin: format!("{}/{}/{file}", plan.release_url, plan.version),
            })
        }
        KubernetesSource::GoModule => build(&plan.version, arch, cache, ui)
            .await
            .map_err(|e| ArtifactError::Tree(Box::new(e))),
    }
}

/// Both built in the tree of the published version (see
/// [`source::release`]): the node image's binaries were compiled there, and a
/// user's tree of the same version shares the compiled packages.
async fn build(
    version: &KubeVersion,
    arch: &str,
    cache: &Cache,
    ui: &Ui,
) -> Result<TestBinaries, source::SourceError> {
    let (e2e_test, ginkgo) = source::release::test_binaries(ui, cache, version, arch).await?;
    Ok(TestBinaries {
        e2e_test,
        ginkgo,
        origin: format!("built from the Go module k8s.io/kubernetes@{version} as a source tree"),
    })
}
