//! Node images: the bare image (Debian base system plus the node's service
//! configuration) and, on top of it, the image for one Kubernetes version with
//! its binaries and every image kubeadm runs already in the node's containerd.
//!
//! A build is a [`Build`] (the plan and its [`BuildContext`]) and a few named
//! steps: the base system ([`super::rootfs`]), the bare image ([`bare`]), the
//! Kubernetes binaries, and the Kubernetes image ([`kubernetes`]).
//! Images carry a label with the hash of everything they were made from; an
//! image whose label differs from what the settings ask for is rebuilt.

mod bare;
mod kubernetes;
mod prepare;

use std::collections::BTreeMap;

use super::context::BuildContext;
use super::rootfs::{self, BaseSystem};
use super::{ImageError, Result};
use crate::artifacts::cache::{self, Cache, CacheKey};
use crate::artifacts::{self, ArtifactError, Binaries, BinaryPlan};
use crate::engine::{Engine, EngineError, ImageConfig, ImageDetails, RemoveImage};
use crate::labels::{
    LABEL_BINARIES, LABEL_FORMAT, LABEL_INPUTS, LABEL_KUBERNETES_VERSION, LABEL_PRELOADED,
    LABEL_ROLE, ROLE_NODE_IMAGE,
};
use crate::settings::{ImageSourceSetting, KubernetesSourceSetting};
use crate::ui::Ui;

/// This tool's node image generation; raise it when what nodes expect
/// from their image changes.
pub const FORMAT: u32 = 2;

pub const ENTRYPOINT: &str = "/usr/local/bin/local-cluster-entrypoint";
/// systemd stops cleanly on this signal (SIGTERM would make it re-execute).
pub const STOP_SIGNAL: &str = "SIGRTMIN+3";

/// What a node image is to contain.
#[derive(Debug, Clone)]
pub struct NodeImagePlan {
    pub arch: String,
    pub debian_mirror: String,
    /// None for the bare image.
    pub kubernetes: Option<KubernetesContent>,
}

#[derive(Debug, Clone)]
pub struct KubernetesContent {
    pub binaries: BinaryPlan,
    pub image_source: ImageSourceSetting,
    pub image_repository: String,
}

/// How `ensure` treats a node image already in the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    /// Any image of this tool's generation for the version and architecture,
    /// whatever source made it (`up`): how binaries would be fetched does
    /// not matter once they are there.
    AnyForVersion,
    /// Only one made from exactly what the settings say (`build node-image`).
    SameInputs,
    /// None: build again (`build node-image --force`).
    Never,
}

/// An image tag cannot hold a version's `+` (build metadata of source
/// builds); kubeadm writes it `_` in its image tags too.
pub fn node_image_reference(version: &str, arch: &str) -> String {
    format!(
        "kubeadm-local-cluster/node:{}-{arch}",
        version.replace('+', "_")
    )
}

/// The runtime configuration of every node image, bare or not: systemd
/// behind our entrypoint. `labels` say what the image is.
pub fn node_image_config(labels: BTreeMap<String, String>) -> ImageConfig {
    ImageConfig {
        env: vec!["container=docker".to_string()],
        entrypoint: Some(vec![ENTRYPOINT.to_string()]),
        cmd: Some(vec!["/sbin/init".to_string()]),
        stop_signal: Some(STOP_SIGNAL.to_string()),
        labels,
        ..Default::default()
    }
}

/// Labels of a node image made from `inputs`, plus `extra`.
fn node_image_labels(inputs: &str, extra: &[(&str, String)]) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([
        (LABEL_INPUTS.to_string(), inputs.to_string()),
        (LABEL_ROLE.to_string(), ROLE_NODE_IMAGE.to_string()),
    ]);
    labels.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    labels
}

/// A node image build: what every step needs, the build context made from
/// the plan's architecture, mirror and image source.
pub struct Build<'a, E> {
    context: BuildContext<'a, E>,
    plan: &'a NodeImagePlan,
}

impl<'a, E> Build<'a, E> {
    pub fn new(engine: &'a E, ui: &'a Ui, cache: &'a Cache, plan: &'a NodeImagePlan) -> Self {
        let image_source = plan
            .kubernetes
            .as_ref()
            .map_or(ImageSourceSetting::Auto, |k8s| k8s.image_source);
        Build {
            context: BuildContext {
                engine,
                ui,
                cache,
                arch: &plan.arch,
                image_source,
                debian_mirror: &plan.debian_mirror,
            },
            plan,
        }
    }
}

/// An image in the engine, and the hash of what it is made from.
struct Made {
    reference: String,
    inputs: String,
}

/// Make sure a node image for the plan is in the engine; build what is
/// missing. Returns the image's reference.
pub async fn ensure<E: Engine>(build: &Build<'_, E>, reuse: Reuse) -> Result<String> {
    let plan = build.plan;
    if reuse == Reuse::AnyForVersion {
        if let Some(reference) = build.reusable().await? {
            return Ok(reference);
        }
    }
    let force = reuse == Reuse::Never;
    let base = BaseSystem::new(build.context.arch, build.context.debian_mirror);
    let force_bare = force && plan.kubernetes.is_none();
    let bare_image = async {
        let base_entry = rootfs::build(build.context.ui, &base, build.context.cache).await?;
        let (bare, rebuilt) = bare::ensure(build, &base, &base_entry, force_bare).await?;
        Ok::<_, ImageError>((base_entry, bare, rebuilt))
    };
    let Some(k8s) = &plan.kubernetes else {
        let (_, bare, bare_rebuilt) = bare_image.await?;
        if bare_rebuilt {
            build.forget_superseded().await;
        }
        return Ok(bare.reference);
    };
    let prepared = build.prepare(k8s, force).await?;
    let image_source = prepared.image_source;
    let ((base_entry, bare, bare_rebuilt), binaries) =
        if overlap_base_with_binaries(build.context.arch, &build.context.engine.info().arch) {
            // debootstrap mostly waits for the mirror and the disk while a
            // Go build keeps both cores busy: side by side, the base system
            // costs little of its own time.
            tokio::try_join!(bare_image, build.binaries(&prepared))?
        } else {
            let made = bare_image.await?;
            kubernetes::check_engine_runs_arch(build, &made.1.reference).await?;
            (made, build.binaries(&prepared).await?)
        };
    let image = kubernetes::describe(&bare, &binaries, k8s, image_source, build.context.arch)?;
    if !force && !bare_rebuilt && build.up_to_date(&image).await? {
        return Ok(image.reference);
    }
    kubernetes::build(
        build,
        &bare,
        &image,
        &binaries,
        k8s,
        image_source,
        &base_entry,
    )
    .await?;
    build.forget_superseded().await;
    Ok(image.reference)
}

/// Are the base system and bare image made while the Kubernetes binaries
/// are got? Yes, unless the nodes are of another architecture than the
/// engine: then the engine must first show, with a container of the bare
/// image, that it runs their programs, before a long cross-compile starts.
fn overlap_base_with_binaries(node_arch: &str, engine_arch: &str) -> bool {
    node_arch == engine_arch
}

/// The engine's image `reference`, if it has one.
async fn inspect<E: Engine>(engine: &E, reference: &str) -> Result<Option<ImageDetails>> {
    engine
        .inspect_image(reference)
        .await
        .map_err(ImageError::engine(format!("inspect {reference}")))
}

/// A node image's facts, as `status` shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeImageFacts {
    pub kubernetes_version: Option<String>,
    pub binaries: Option<String>,
}

/// The facts of node image `reference`, if the engine has it.
pub async fn facts<E: Engine>(engine: &E, reference: &str) -> Result<Option<NodeImageFacts>> {
    let details = inspect(engine, reference).await?;
    Ok(details.map(|d| NodeImageFacts {
        kubernetes_version: d.labels.get(LABEL_KUBERNETES_VERSION).cloned(),
        binaries: d.labels.get(LABEL_BINARIES).cloned(),
    }))
}

impl<E: Engine> Build<'_, E> {
    /// The node image for the plan's version and architecture, if one of
    /// this generation, with images of the configured repository, is there
    /// and the settings build nothing themselves (a source tree or URLs name
    /// particular binaries: those are checked by their inputs).
    async fn reusable(&self) -> Result<Option<String>> {
        let Some(k8s) = &self.plan.kubernetes else {
            return Ok(None);
        };
        let binaries = &k8s.binaries;
        if binaries.tree.is_some()
            || binaries.kubeadm_url.is_some()
            || binaries.kubectl_url.is_some()
            || binaries.hyperkube_url.is_some()
        {
            return Ok(None);
        }
        let version = binaries.version.to_string();
        let reference = node_image_reference(&version, self.context.arch);
        let Some(details) = inspect(self.context.engine, &reference).await? else {
            return Ok(None);
        };
        let label = |name: &str| details.labels.get(name).map(String::as_str);
        // Its preloaded images must be named as kubeadm will ask for them.
        let apiserver = format!("{}/kube-apiserver:", k8s.image_repository);
        let usable = label(LABEL_KUBERNETES_VERSION) == Some(version.as_str())
            && label(LABEL_FORMAT) == Some(FORMAT.to_string().as_str())
            && label(LABEL_PRELOADED).is_some_and(|images| images.contains(&apiserver));
        if usable {
            self.context.ui.note(format!(
                "using node image {reference} ({})",
                label(LABEL_BINARIES).unwrap_or("binaries of unknown origin")
            ));
            Ok(Some(reference))
        } else {
            Ok(None)
        }
    }

    /// Does the engine hold the image, made from those inputs?
    async fn up_to_date(&self, image: &Made) -> Result<bool> {
        let details = inspect(self.context.engine, &image.reference).await?;
        Ok(details
            .is_some_and(|d| d.labels.get(LABEL_INPUTS).map(String::as_str) == Some(&image.inputs)))
    }

    /// Step: the Kubernetes binaries the plan asks for, from the source
    /// [`Build::prepare`] decided on (said in the step's title).
    async fn binaries(&self, prepared: &prepare::Prepared) -> Result<Binaries> {
        let plan = &prepared.binaries;
        let step = self.context.ui.step(prepared.title.clone());
        let binaries = artifacts::kubernetes_binaries(
            plan,
            self.context.cache,
            self.context.ui,
            &crate::source::Trees,
        )
        .await
        .map_err(|e| match e {
            // Offline machines (like CI without internet) can build instead.
            e @ (ArtifactError::Http { .. } | ArtifactError::HttpStatus { .. })
                if plan.source == KubernetesSourceSetting::Release =>
            {
                ImageError::ReleaseSite(e)
            }
            other => other.into(),
        })?;
        step.done();
        for (name, origin) in &binaries.origins {
            self.context.ui.note(format!("{name}: {origin}"));
        }
        Ok(binaries)
    }

    /// After a build: drop the images it replaced, saying so; a failure here
    /// must not fail the build.
    async fn forget_superseded(&self) {
        match remove_superseded(self.context.engine).await {
            Ok(0) => {}
            Ok(n) => self
                .context
                .ui
                .note(format!("removed {n} superseded node image(s)")),
            Err(e) => self.context.ui.warn(format!(
                "could not remove superseded node images: {}",
                crate::error::chain(&e)
            )),
        }
    }
}

/// The inputs of a cached file, for image input hashes.
fn file_key(key: CacheKey, name: &str, path: &std::path::Path) -> Result<CacheKey> {
    let identity = cache::file_identity(path).map_err(ImageError::io("reading", path))?;
    Ok(key.with(name, identity))
}

/// Node images whose tag has moved to a newer build. Each is removed once
/// no container or snapshot is made from it; until then the engine refuses
/// and it stays. Returns how many were removed.
pub async fn remove_superseded<E: Engine>(engine: &E) -> Result<usize, EngineError> {
    let mut removed = 0;
    // Node images are made from the bare image: a superseded bare image can
    // go only after the node images made from it, in a later pass.
    loop {
        let mut this_pass = 0;
        for image in engine.list_images(&[(LABEL_ROLE, ROLE_NODE_IMAGE)]).await? {
            if !image.is_untagged() {
                continue;
            }
            match engine.remove_image(&image.id, RemoveImage::IfUnused).await {
                Ok(()) => this_pass += 1,
                Err(e) if e.is_conflict() => {}
                Err(e) => return Err(e),
            }
        }
        removed += this_pass;
        if this_pass == 0 {
            return Ok(removed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fake::FakeEngine;

    const IMAGE: &str = "kubeadm-local-cluster/node:v1.37.2-amd64";

    fn plan(repository: &str, tree: bool) -> NodeImagePlan {
        let version: crate::settings::KubeVersion = "v1.37.2".parse().unwrap();
        NodeImagePlan {
            arch: "amd64".into(),
            debian_mirror: "http://deb.invalid/debian".into(),
            kubernetes: Some(KubernetesContent {
                binaries: BinaryPlan {
                    version: version.clone(),
                    arch: "amd64".into(),
                    // Not what made the image: it does not matter.
                    source: KubernetesSourceSetting::Release,
                    release_url: "http://127.0.0.1:1".into(),
                    kubeadm_url: None,
                    hyperkube_url: None,
                    kubectl_url: None,
                    tree: tree.then(|| artifacts::TreeBuild {
                        dir: "/src/kubernetes".into(),
                        kubeadm: true,
                        server: false,
                        kubectl: false,
                        stamp: artifacts::VersionStamp::release(&version),
                    }),
                },
                image_source: ImageSourceSetting::Registry,
                image_repository: repository.into(),
            }),
        }
    }

    async fn reused(engine: &FakeEngine, plan: &NodeImagePlan) -> Option<String> {
        let dir = tempfile::tempdir().unwrap();
        let (ui, cache) = (Ui::recording(1), Cache::new(dir.path()));
        let build = Build::new(engine, &ui, &cache, plan);
        build.reusable().await.unwrap()
    }

    #[tokio::test]
    async fn any_node_image_of_the_version_is_used_whatever_made_it() {
        let labels = |format: &str| {
            vec![
                (LABEL_KUBERNETES_VERSION, "v1.37.2".to_string()),
                (LABEL_FORMAT, format.to_string()),
                (
                    LABEL_BINARIES,
                    "kubeadm: built from the Go module".to_string(),
                ),
                (
                    LABEL_PRELOADED,
                    "registry.k8s.io/kube-apiserver:v1.37.2,registry.k8s.io/pause:3.10".to_string(),
                ),
            ]
        };
        let add = |engine: &FakeEngine, labels: &[(&str, String)]| {
            let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
            engine.add_image(&[IMAGE], &labels, Default::default());
        };
        let engine = FakeEngine::new();
        add(&engine, &labels(&FORMAT.to_string()));
        assert_eq!(
            reused(&engine, &plan("registry.k8s.io", false))
                .await
                .as_deref(),
            Some(IMAGE)
        );
        // Images named for another repository, or a tree to build from: no.
        assert_eq!(
            reused(&engine, &plan("mirror.example/k8s", false)).await,
            None
        );
        assert_eq!(reused(&engine, &plan("registry.k8s.io", true)).await, None);
        // Made by a tool whose nodes expected another image: no.
        let engine = FakeEngine::new();
        add(&engine, &labels("1"));
        assert_eq!(reused(&engine, &plan("registry.k8s.io", false)).await, None);
        let engine = FakeEngine::new();
        assert_eq!(reused(&engine, &plan("registry.k8s.io", false)).await, None);
    }

    #[tokio::test]
    async fn an_engine_that_cannot_run_the_nodes_architecture_is_refused_saying_what_to_set_up() {
        let engine = FakeEngine::new();
        engine.add_image(&["bare:arm64"], &[], Default::default());
        let mut arm64 = plan("registry.k8s.io", false);
        arm64.arch = "arm64".into();
        let dir = tempfile::tempdir().unwrap();
        let (ui, cache) = (Ui::recording(1), Cache::new(dir.path()));
        let build = Build::new(&engine, &ui, &cache, &arm64);
        // A runnable arm64 image: checked, and the probe container is gone.
        kubernetes::check_engine_runs_arch(&build, "bare:arm64")
            .await
            .unwrap();
        assert!(engine.container_names().is_empty());
        engine.on_exec(|_, argv| {
            (argv == ["true"]).then(|| {
                crate::engine::ExecOutput::failed(1, "exec /usr/bin/true: exec format error")
            })
        });
        let err = kubernetes::check_engine_runs_arch(&build, "bare:arm64")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("amd64 Docker engine cannot run arm64 programs")
                && err.contains("update-binfmts --enable qemu-aarch64"),
            "{err}"
        );
        assert!(engine.container_names().is_empty());
        // The engine's own architecture needs no check.
        let amd64 = plan("registry.k8s.io", false);
        let build = Build::new(&engine, &ui, &cache, &amd64);
        kubernetes::check_engine_runs_arch(&build, "no-such-image")
            .await
            .unwrap();
    }

    #[test]
    fn the_base_system_is_made_beside_the_binaries_only_for_the_engines_architecture() {
        assert!(overlap_base_with_binaries("amd64", "amd64"));
        assert!(!overlap_base_with_binaries("arm64", "amd64"));
    }

    #[test]
    fn source_builds_get_valid_image_tags() {
        assert_eq!(
            node_image_reference("v1.37.2-5+0123456789abcd-dirty", "amd64"),
            "kubeadm-local-cluster/node:v1.37.2-5_0123456789abcd-dirty-amd64"
        );
    }
}
