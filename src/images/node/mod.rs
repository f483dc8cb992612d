//! Node images: the bare image (Debian base system plus the node's service
//! configuration) and, on top of it, the image for one Kubernetes version with
//! its binaries and every image kubeadm runs already in the node's containerd.
//!
//! A build is a [`Build`] (engine, output, cache, plan) and a few named
//! steps: the base system ([`super::rootfs`]), the bare image ([`bare`]), the
//! Kubernetes binaries, and the Kubernetes image ([`kubernetes`]).
//! Images carry a label with the hash of everything they were made from; an
//! image whose label differs from what the settings ask for is rebuilt.

mod bare;
mod kubernetes;

use std::collections::BTreeMap;

use super::rootfs::{self, BaseSystem};
use super::{ImageError, Result};
use crate::artifacts::cache::{self, Cache, CacheKey};
use crate::artifacts::{self, ArtifactError, Binaries, BinaryPlan};
use crate::engine::{Engine, EngineError, ImageConfig, RemoveImage, LABEL_ROLE};
use crate::settings::{ImageSource, KubernetesSource};
use crate::ui::Ui;

/// Label holding the hash of an image's inputs.
pub const LABEL_INPUTS: &str = "io.kubeadm-local-cluster.inputs";
/// Label holding the Kubernetes version inside a node image.
pub const LABEL_KUBERNETES_VERSION: &str = "io.kubeadm-local-cluster.kubernetes-version";
/// Label listing the images preloaded in a node image.
pub const LABEL_PRELOADED: &str = "io.kubeadm-local-cluster.preloaded-images";
/// The role label's value on node images (bare or not).
pub const ROLE_NODE_IMAGE: &str = "node-image";

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
    pub image_source: ImageSource,
    pub image_repository: String,
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

/// A node image build: what every step needs.
pub struct Build<'a, E> {
    pub engine: &'a E,
    pub ui: &'a Ui,
    pub cache: &'a Cache,
    pub plan: &'a NodeImagePlan,
}

/// An image in the engine, and the hash of what it is made from.
struct Made {
    reference: String,
    inputs: String,
}

/// Make sure the node image the plan describes is in the engine; build what
/// is missing. `force` rebuilds the final image even when it is current.
/// Returns the image's reference.
pub async fn ensure<E: Engine>(build: &Build<'_, E>, force: bool) -> Result<String> {
    let plan = build.plan;
    let base = BaseSystem::new(&plan.arch, &plan.debian_mirror);
    let base_entry = rootfs::build(build.ui, &base, build.cache).await?;
    let force_bare = force && plan.kubernetes.is_none();
    let (bare, bare_rebuilt) = bare::ensure(build, &base, &base_entry, force_bare).await?;
    let Some(k8s) = &plan.kubernetes else {
        if bare_rebuilt {
            build.forget_superseded().await;
        }
        return Ok(bare.reference);
    };
    let binaries = build.binaries(k8s).await?;
    let image = kubernetes::describe(&bare, &binaries, k8s, &plan.arch)?;
    if !force && !bare_rebuilt && build.up_to_date(&image).await? {
        return Ok(image.reference);
    }
    kubernetes::build(build, &bare, &image, &binaries, k8s, &base_entry).await?;
    build.forget_superseded().await;
    Ok(image.reference)
}

impl<E: Engine> Build<'_, E> {
    /// Does the engine hold the image, made from those inputs?
    async fn up_to_date(&self, image: &Made) -> Result<bool> {
        let details = self
            .engine
            .inspect_image(&image.reference)
            .await
            .map_err(ImageError::engine(format!("inspect {}", image.reference)))?;
        Ok(details
            .is_some_and(|d| d.labels.get(LABEL_INPUTS).map(String::as_str) == Some(&image.inputs)))
    }

    /// Step: the Kubernetes binaries the plan asks for.
    async fn binaries(&self, k8s: &KubernetesContent) -> Result<Binaries> {
        let step = self.ui.step(format!(
            "Getting Kubernetes {} binaries",
            k8s.binaries.version
        ));
        let binaries = artifacts::kubernetes_binaries(&k8s.binaries, self.cache, self.ui)
            .await
            .map_err(|e| match e {
                // Offline machines (like CI without internet) can build instead.
                e @ (ArtifactError::Http { .. } | ArtifactError::HttpStatus { .. })
                    if k8s.binaries.source == KubernetesSource::Release =>
                {
                    ImageError::ReleaseSite(e)
                }
                other => other.into(),
            })?;
        step.done();
        for (name, origin) in &binaries.origins {
            self.ui.note(format!("{name}: {origin}"));
        }
        Ok(binaries)
    }

    /// After a build: drop the images it replaced, saying so; a failure here
    /// must not fail the build.
    async fn forget_superseded(&self) {
        match remove_superseded(self.engine).await {
            Ok(0) => {}
            Ok(n) => self
                .ui
                .note(format!("removed {n} superseded node image(s)")),
            Err(e) => self.ui.warn(format!(
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

    #[test]
    fn source_builds_get_valid_image_tags() {
        assert_eq!(
            node_image_reference("v1.37.2-5+0123456789abcd-dirty", "amd64"),
            "kubeadm-local-cluster/node:v1.37.2-5_0123456789abcd-dirty-amd64"
        );
    }
}
