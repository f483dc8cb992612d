//! rancher's local-path provisioner, from its own manifest
//! (`deploy/local-path-storage.yaml` of its Go module), with its StorageClass
//! made the cluster's default, so claims without a class (Helm charts') are
//! bound: each volume is a directory under /var of the node its first pod
//! runs on.
//!
//! Its images are pulled or built here: the provisioner from its module
//! (nothing else in the image: it only talks to the API server), and the
//! helper pods' image (upstream `busybox`, which needs `sh`, `mkdir` and
//! `rm`) as Debian's busybox, named for what it is.

use super::{Inputs, Manifest, Outcome, Prepared};
use crate::artifacts::gomod::{self, GoModuleBuild};
use crate::engine::Engine;
use crate::images::workload::BUSYBOX;
use crate::manifest::{replace_once, EditError};
use crate::settings::ImageSource;

pub const VERSION: &str = "v0.0.30";
const MODULE: &str = "github.com/rancher/local-path-provisioner";
const MANIFEST: &str = "deploy/local-path-storage.yaml";
/// How the manifest names the provisioner's image, and the same fully
/// qualified (what containerd records for it).
const UPSTREAM_IMAGE: &str = "rancher/local-path-provisioner:v0.0.30";
const IMAGE: &str = "docker.io/rancher/local-path-provisioner:v0.0.30";
/// The helper pods' image as the manifest names it, and as pulled.
const UPSTREAM_HELPER: &str = "image: busybox\n";
const PULLED_HELPER: &str = "docker.io/library/busybox:latest";
const BUILT_HELPER: &str = "kubeadm-local-cluster/busybox:debian";
/// Where volumes live on the nodes.
pub const VOLUMES_DIR: &str = "/var/local-path-provisioner";

pub async fn prepare<E: Engine>(inputs: &Inputs<'_, E>) -> Result<Outcome, super::AddonError> {
    let (_, upstream) = inputs
        .build
        .module_file(&format!("{MODULE}@{VERSION}"), MODULE, VERSION, MANIFEST)
        .await?;
    let named = crate::manifest::images(&upstream);
    if named != [UPSTREAM_IMAGE, "busybox"] {
        return Err(super::AddonError::UnexpectedImages(named.join(", ")));
    }
    let manifest = as_default_class(&upstream)?;
    let manifest = under_var(&manifest)?;
    let (manifest, images) = match inputs.build.source_of(IMAGE).await {
        ImageSource::Registry => {
            let images = vec![
                inputs.build.pulled(IMAGE).await?,
                inputs.build.pulled(PULLED_HELPER).await?,
            ];
            (manifest, images)
        }
        ImageSource::Build => {
            let manifest = with_helper(&manifest, BUILT_HELPER)?;
            (
                manifest,
                vec![
                    provisioner_image(inputs).await?,
                    helper_image(inputs).await?,
                ],
            )
        }
    };
    Ok(Outcome::Ready(Prepared {
        name: "local-path".to_string(),
        manifest: Manifest::Text(manifest),
        images,
    }))
}

/// The manifest with its StorageClass marked as the default one.
fn as_default_class(upstream: &str) -> Result<String, EditError> {
    replace_once(
        upstream,
        "kind: StorageClass\nmetadata:\n  name: local-path\n",
        "kind: StorageClass\nmetadata:\n  name: local-path\n  annotations:\n    storageclass.kubernetes.io/is-default-class: \"true\"\n",
        "the StorageClass",
    )
}

/// The manifest with volumes under the nodes' /var: that is the nodes'
/// volume, kept by `down` and restored by `up` (the rest of a node's files
/// come back as they were when the snapshot was taken).
fn under_var(manifest: &str) -> Result<String, EditError> {
    replace_once(
        manifest,
        "\"paths\":[\"/opt/local-path-provisioner\"]",
        &format!("\"paths\":[\"{VOLUMES_DIR}\"]"),
        "the volumes' directory",
    )
}

/// The manifest with the helper pods' image `reference`.
fn with_helper(manifest: &str, reference: &str) -> Result<String, EditError> {
    replace_once(
        manifest,
        UPSTREAM_HELPER,
        &format!("image: {reference}\n"),
        "the helper pods' image",
    )
}

async fn provisioner_image<E>(
    inputs: &Inputs<'_, E>,
) -> Result<std::path::PathBuf, super::AddonError> {
    // As upstream builds it: static, the version stamped in.
    let build = GoModuleBuild {
        module: MODULE.to_string(),
        version: VERSION.to_string(),
        binaries: vec![(MODULE.to_string(), "local-path-provisioner".to_string())],
        ldflags: format!("-s -w -X main.VERSION={VERSION}"),
        tags: vec![],
        arch: inputs.build.arch.to_string(),
        sibling_version: gomod::same_version,
    };
    let bin = inputs
        .build
        .go_binaries(build, &format!("local-path-provisioner {VERSION}"), &[])
        .await?;
    let files = [(
        "usr/local/bin/local-path-provisioner".to_string(),
        bin.join("local-path-provisioner"),
    )];
    Ok(inputs.build.image(IMAGE, None, &files, None).await?)
}

async fn helper_image<E>(inputs: &Inputs<'_, E>) -> Result<std::path::PathBuf, super::AddonError> {
    Ok(inputs
        .build
        .image(BUILT_HELPER, Some(&BUSYBOX), &[], None)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPSTREAM: &str = "  config.json: |-\n            \"paths\":[\"/opt/local-path-provisioner\"]\nkind: Deployment\nspec:\n        - image: rancher/local-path-provisioner:v0.0.30\n---\napiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: local-path\nprovisioner: rancher.io/local-path\n---\n  helperPod.yaml: |-\n      - name: helper-pod\n        image: busybox\n        imagePullPolicy: IfNotPresent\n";

    #[test]
    fn the_class_is_the_default_and_helpers_use_the_built_image() {
        let m = as_default_class(UPSTREAM).unwrap();
        assert!(m.contains("  name: local-path\n  annotations:\n    storageclass.kubernetes.io/is-default-class: \"true\"\nprovisioner:"), "{m}");
        let m = under_var(&m).unwrap();
        assert!(
            m.contains("\"paths\":[\"/var/local-path-provisioner\"]"),
            "{m}"
        );
        let m = with_helper(&m, BUILT_HELPER).unwrap();
        assert!(
            m.contains("image: kubeadm-local-cluster/busybox:debian\n        imagePullPolicy"),
            "{m}"
        );
        assert_eq!(
            crate::manifest::images(&m),
            vec![UPSTREAM_IMAGE, BUILT_HELPER]
        );
        // A manifest laid out otherwise is refused, not half-rendered.
        assert!(as_default_class("kind: StorageClass\n").is_err());
    }
}
