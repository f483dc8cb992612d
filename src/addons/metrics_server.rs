//! metrics-server, so `kubectl top` works: its release kustomization
//! (`manifests/overlays/release` of its Go module), rendered in the master,
//! with `--kubelet-insecure-tls` added, as kubelets here serve with
//! self-signed certificates (kubeadm's default) that metrics-server would
//! otherwise refuse.
//!
//! Its image is pulled or built here from its module: the one static binary
//! and nothing else, like upstream's distroless image.

use super::{AddonError, Inputs, Manifest, Outcome, Prepared};
use crate::artifacts::gomod::{self, GoModuleBuild};
use crate::engine::Engine;
use crate::images::MakeError;
use crate::manifest::{replace_once, EditError};
use crate::settings::ImageSource;

pub const VERSION: &str = "v0.9.0";
const MODULE: &str = "sigs.k8s.io/metrics-server";
const KUSTOMIZATION: &str = "overlays/release";
/// What the release kustomization names.
const IMAGE: &str = "registry.k8s.io/metrics-server/metrics-server:v0.9.0";
const FIRST_ARG: &str = "        - --cert-dir=/tmp\n";

pub async fn prepare<E: Engine>(inputs: &Inputs<'_, E>) -> Result<Outcome, AddonError> {
    let module = crate::artifacts::gomod::module_dir(inputs.build.ui, MODULE, VERSION)
        .await
        .map_err(MakeError::getting(format!("{MODULE}@{VERSION}")))?;
    let image = match inputs.build.source_of(IMAGE).await {
        ImageSource::Registry => inputs.build.pulled(IMAGE).await?,
        ImageSource::Build => build(inputs).await?,
    };
    Ok(Outcome::Ready(Prepared {
        name: "metrics-server".to_string(),
        manifest: Manifest::Kustomize {
            dir: module.join("manifests"),
            path: KUSTOMIZATION,
            edit: with_insecure_kubelet_tls,
        },
        images: vec![image],
    }))
}

/// The rendered manifest with the flag that accepts the kubelets'
/// self-signed serving certificates.
fn with_insecure_kubelet_tls(rendered: &str) -> Result<String, EditError> {
    replace_once(
        rendered,
        FIRST_ARG,
        &format!("{FIRST_ARG}        - --kubelet-insecure-tls\n"),
        "metrics-server's arguments",
    )
}

async fn build<E>(inputs: &Inputs<'_, E>) -> Result<std::path::PathBuf, AddonError> {
    let build = GoModuleBuild {
        module: MODULE.to_string(),
        version: VERSION.to_string(),
        binaries: vec![(
            format!("{MODULE}/cmd/metrics-server"),
            "metrics-server".to_string(),
        )],
        ldflags: format!("-s -w -X k8s.io/client-go/pkg/version.gitVersion={VERSION}"),
        tags: vec![],
        arch: inputs.build.arch.to_string(),
        sibling_version: gomod::same_version,
    };
    let bin = inputs
        .build
        .go_binaries(build, &format!("metrics-server {VERSION}"), &[])
        .await?;
    let files = [("metrics-server".to_string(), bin.join("metrics-server"))];
    // The manifest gives only arguments, as upstream's image runs it.
    Ok(inputs
        .build
        .image(IMAGE, None, &files, Some("/metrics-server"))
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubelets_self_signed_certificates_are_accepted() {
        let rendered = "      - args:\n        - --cert-dir=/tmp\n        - --secure-port=10250\n";
        assert_eq!(
            with_insecure_kubelet_tls(rendered).unwrap(),
            "      - args:\n        - --cert-dir=/tmp\n        - --kubelet-insecure-tls\n        - --secure-port=10250\n"
        );
    }
}
