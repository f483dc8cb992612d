//! Versions, node image plans and the node image itself: resolved from the
//! settings, reused or built; a full disk named with the setting that chose it.

use std::time::Instant;

use anyhow::Result;

use super::{connect, NodeImageKind};

use crate::artifacts::{self, BinaryPlan, Cache, TreeBuild};
use crate::engine::{Engine, EngineInfo};
use crate::images::node::{self as node_image, KubernetesContent, NodeImagePlan};
use crate::output;
use crate::settings::{KubeVersion, Settings};
use crate::source::{self, TreeVersion};
use crate::ui::{seconds, Ui};

pub(super) fn node_arch(settings: &Settings, info: &EngineInfo) -> String {
    settings
        .arch
        .map(|a| a.as_str().to_string())
        .unwrap_or_else(|| info.arch.clone())
}

pub(super) async fn resolve_version(settings: &Settings, ui: &Ui) -> Result<KubeVersion> {
    Ok(artifacts::resolve_version(
        ui,
        &settings.kubernetes_version,
        settings.kubernetes_source,
        &settings.release_url,
    )
    .await?)
}

/// The version the settings name and, with `build*` settings, the source
/// tree's.
pub(super) struct Versions {
    /// Downloads and Go module builds are of this version.
    pub(super) configured: KubeVersion,
    pub(super) tree: Option<TreeChoice>,
}

impl Versions {
    /// The version the cluster runs: its server binaries'.
    pub(super) fn cluster(&self) -> KubeVersion {
        match &self.tree {
            Some(tree) if tree.server => tree.version.version().clone(),
            _ => self.configured.clone(),
        }
    }
}

/// A source tree to build from, and what the settings ask it for.
pub(super) struct TreeChoice {
    pub(super) version: TreeVersion,
    pub(super) server: bool,
}

pub(super) async fn versions(settings: &Settings, ui: &Ui) -> Result<Versions> {
    let configured = resolve_version(settings, ui).await?;
    let tree = if settings.any_build() {
        let version = source::version::of_tree(ui, &settings.k8s_dir, &configured).await?;
        ui.note(format!(
            "source tree {}: {} ({})",
            settings.k8s_dir.display(),
            version.version(),
            version.how
        ));
        Some(TreeChoice {
            version,
            server: settings.build_hyperkube,
        })
    } else {
        None
    };
    Ok(Versions { configured, tree })
}

pub(super) fn node_image_plan(
    settings: &Settings,
    arch: &str,
    versions: Option<&Versions>,
) -> NodeImagePlan {
    NodeImagePlan {
        arch: arch.to_string(),
        debian_mirror: settings.debian_mirror.clone(),
        kubernetes: versions.map(|versions| KubernetesContent {
            binaries: BinaryPlan {
                version: versions.configured.clone(),
                arch: arch.to_string(),
                source: settings.kubernetes_source,
                release_url: settings.release_url.clone(),
                kubeadm_url: settings.kubeadm_download.clone(),
                hyperkube_url: settings.hyperkube_download.clone(),
                kubectl_url: settings.kubectl_download.clone(),
                tree: versions.tree.as_ref().map(|tree| TreeBuild {
                    dir: settings.k8s_dir.clone(),
                    kubeadm: settings.build_kubeadm,
                    server: settings.build_hyperkube,
                    kubectl: settings.build_kubectl,
                    stamp: tree.version.stamp.clone(),
                }),
            },
            image_source: settings.image_source,
            image_repository: settings.image_repository.clone(),
        }),
    }
}

pub(super) async fn ensure_node_image<E: Engine>(
    engine: &E,
    ui: &Ui,
    settings: &Settings,
    plan: &NodeImagePlan,
    reuse: node_image::Reuse,
) -> Result<String> {
    let cache = Cache::new(&settings.cache_dir);
    let build = node_image::Build::new(engine, ui, &cache, plan);
    node_image::ensure(&build, reuse)
        .await
        .map_err(|e| explain_no_space(e.into(), settings, engine, "building the node image"))
}

/// A failure for want of space (as its messages say, or as a build
/// abandoned on a full cache shows) said as such; others as they are.
pub(super) fn explain_no_space<E: Engine>(
    e: anyhow::Error,
    settings: &Settings,
    engine: &E,
    doing: &str,
) -> anyhow::Error {
    let failure = crate::engine::space::no_space(e.as_ref()).or_else(|| {
        artifacts::cache::abandoned_on_full_filesystem().map(|_| crate::engine::space::NoSpace {
            path: None,
            in_engine: false,
        })
    });
    match failure {
        Some(f) => say_what_is_full(e, &f, settings, engine, doing),
        None => e,
    }
}

/// Puts in front of a failure for want of space which disk filled up: the
/// engine's, the cache's (naming the setting and where it came from), or
/// the one holding the file the messages name.
pub(super) fn say_what_is_full<E: Engine>(
    e: anyhow::Error,
    failure: &crate::engine::space::NoSpace,
    settings: &Settings,
    engine: &E,
    doing: &str,
) -> anyhow::Error {
    if failure.in_engine {
        return e.context(format!(
            "{} while {doing}",
            crate::engine::ran_out_of_space(engine)
        ));
    }
    let cache = &settings.cache_dir;
    let path = failure.path.as_deref();
    // A tool that failed in a cache entry's staging directory while that
    // filesystem was full ran out there, whatever path it names (debootstrap
    // names the new system's, as seen from inside it).
    let cache_file = match (path, artifacts::cache::abandoned_on_full_filesystem()) {
        (Some(p), _) if p.starts_with(cache) => Some(p.to_path_buf()),
        (_, Some(staging)) if staging.starts_with(cache) => Some(staging),
        _ => None,
    };
    match (cache_file, path) {
        (Some(file), _) => {
            let key = crate::settings::Key::CacheDir;
            let def = key.def();
            e.context(format!(
                "no space left on device writing {}: the cache's filesystem is full ({}, {} from \
                 {}); free space there, or point {} (--{}, {}) at a larger filesystem",
                file.display(),
                cache.display(),
                def.key,
                settings.provenance.source(key),
                def.key,
                def.flag,
                def.env()
            ))
        }
        (None, Some(p)) => e.context(format!(
            "no space left on device writing {0}: the filesystem of {0} is full",
            p.display()
        )),
        (None, None) => e.context("no space left on device: a filesystem is full"),
    }
}

/// `build node-image`: made again when the settings' inputs changed, or
/// with `force` always.
pub async fn build_node_image(
    settings: &Settings,
    ui: &Ui,
    kind: NodeImageKind,
    force: bool,
) -> Result<()> {
    let engine = connect(settings, ui).await?;
    build_node_image_on(settings, ui, &engine, kind, force).await
}

/// `build node-image` on `engine`.
pub(super) async fn build_node_image_on<E: Engine>(
    settings: &Settings,
    ui: &Ui,
    engine: &E,
    kind: NodeImageKind,
    force: bool,
) -> Result<()> {
    let arch = node_arch(settings, engine.info());
    let versions = match kind {
        NodeImageKind::Full => Some(versions(settings, ui).await?),
        NodeImageKind::Bare => None,
    };
    let start = Instant::now();
    let plan = node_image_plan(settings, &arch, versions.as_ref());
    let reuse = if force {
        node_image::Reuse::Never
    } else {
        node_image::Reuse::SameInputs
    };
    let image = ensure_node_image(engine, ui, settings, &plan, reuse).await?;
    ui.info(format!(
        "Node image {} is ready ({}).",
        image,
        seconds(start.elapsed())
    ));
    output::line(&image)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_named_with_the_setting_that_chose_it() {
        let settings = crate::cluster::tests::settings(&[("K8S_DIND_CACHE_DIR", "/c")]);
        let engine = crate::engine::fake::FakeEngine::new();
        let said = |path: Option<&str>, in_engine: bool| {
            let failure = crate::engine::space::NoSpace {
                path: path.map(Into::into),
                in_engine,
            };
            let e = anyhow::anyhow!("the tool's own message");
            crate::error::chain(
                say_what_is_full(e, &failure, &settings, &engine, "doing it").as_ref(),
            )
        };
        assert_eq!(
            said(Some("/c/base/.x/rootfs.tar.gz"), false),
            "no space left on device writing /c/base/.x/rootfs.tar.gz: the cache's filesystem \
             is full (/c, cacheDir from env K8S_DIND_CACHE_DIR); free space there, or point \
             cacheDir (--cache-dir, K8S_DIND_CACHE_DIR) at a larger filesystem: the tool's own \
             message"
        );
        assert_eq!(
            said(Some("/root/.cache/go-build/ab"), false),
            "no space left on device writing /root/.cache/go-build/ab: the filesystem of \
             /root/.cache/go-build/ab is full: the tool's own message"
        );
        assert_eq!(
            said(Some("/var/lib/docker/tmp/x"), true),
            "the Docker engine at unix:///var/run/docker.sock (from fake) ran out of space (its \
             data root /var/lib/docker) while doing it: the tool's own message"
        );
    }

    #[test]
    fn nodes_take_the_engines_architecture_unless_told_otherwise() {
        // An engine on another machine (remote, or an arm64 laptop) decides
        // what the node image is built for: its nodes run there.
        let info = EngineInfo {
            arch: "arm64".into(),
            ..Default::default()
        };
        let settings = crate::cluster::tests::settings(&[]);
        assert_eq!(node_arch(&settings, &info), "arm64");
        let settings = crate::cluster::tests::settings(&[("K8S_DIND_ARCH", "s390x")]);
        assert_eq!(node_arch(&settings, &info), "s390x");
    }
}
