//! The `dashboard` addon: Headlamp, which SIG UI names as the successor of
//! the Kubernetes Dashboard (archived upstream in January 2026), from its
//! official in-cluster manifest and image. Neither can be made here (its
//! sources are not on the Go module proxy, its UI needs a web build), so
//! where the manifest cannot be fetched or its image pulled, the addon is
//! left out with a warning naming what was missing.
//!
//! Added to upstream's manifest: a `headlamp-admin` service account bound to
//! cluster-admin, whose token `local-cluster dashboard` prints for the login
//! (upstream's manifest has the token Secret, its docs the rest).

use super::{AddonError, Inputs, Manifest, Outcome, Prepared};
use crate::artifacts::auto;
use crate::artifacts::download::fetch_text;
use crate::engine::Engine;
use crate::settings::ImageSourceSetting;

pub const VERSION: &str = "v0.40.0";
pub const MANIFEST_URL: &str =
    "https://raw.githubusercontent.com/kubernetes-sigs/headlamp/v0.40.0/kubernetes-headlamp.yaml";
pub const NAMESPACE: &str = "kube-system";
pub const SERVICE: &str = "headlamp";
pub const ADMIN: &str = "headlamp-admin";

pub async fn prepare<E: Engine>(inputs: &Inputs<'_, E>, url: &str) -> Result<Outcome, AddonError> {
    let upstream = match fetch_text(url).await {
        Ok(text) => text,
        Err(e) => {
            return Ok(Outcome::LeftOut(format!(
                "Headlamp's manifest could not be fetched ({})",
                crate::error::chain(&e)
            )))
        }
    };
    let manifest = pinned(&upstream);
    let mut images = Vec::new();
    for reference in crate::manifest::images(&manifest) {
        if inputs.build.image_source == ImageSourceSetting::Build {
            return Ok(Outcome::LeftOut(format!(
                "its image {reference} cannot be built here (Headlamp's sources are not on the \
                 Go module proxy), and source.imageSource build forbids pulling it"
            )));
        }
        let pull = match auto::registry_answers(&reference).await {
            Ok(()) => inputs
                .build
                .pulled(&reference)
                .await
                .map_err(|e| crate::error::chain(&e)),
            Err(why) => Err(why),
        };
        match pull {
            Ok(archive) => images.push(archive),
            Err(why) => {
                return Ok(Outcome::LeftOut(format!(
                    "its image {reference} could not be pulled ({why})"
                )))
            }
        }
    }
    Ok(Outcome::Ready(Prepared {
        name: "dashboard (Headlamp)".to_string(),
        manifest: Manifest::Text(format!("{}\n{}", manifest.trim_end(), admin())),
        images,
    }))
}

/// Upstream's manifest names Headlamp's image by a moving tag; the release
/// the manifest came from is pinned instead.
fn pinned(upstream: &str) -> String {
    upstream
        .lines()
        .map(|line| match line.trim_start().strip_prefix("image: ") {
            Some(image) if image.contains("/headlamp:") && !image.ends_with(VERSION) => {
                let (repository, _) = crate::engine::split_reference(image.trim());
                let indent = &line[..line.len() - line.trim_start().len()];
                format!("{indent}image: {repository}:{VERSION}\n")
            }
            _ => format!("{line}\n"),
        })
        .collect()
}

/// The login's service account, bound to cluster-admin: a local cluster's
/// owner is its admin.
fn admin() -> String {
    format!(
        "---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {ADMIN}\n  namespace: {NAMESPACE}\n\
         ---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: {ADMIN}\n\
         roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cluster-admin\n\
         subjects:\n- kind: ServiceAccount\n  name: {ADMIN}\n  namespace: {NAMESPACE}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moving_tag_is_pinned_to_the_release() {
        let m = "spec:\n      containers:\n      - name: headlamp\n        image: ghcr.io/headlamp-k8s/headlamp:latest\n        args:\n";
        assert_eq!(
            pinned(m),
            "spec:\n      containers:\n      - name: headlamp\n        image: ghcr.io/headlamp-k8s/headlamp:v0.40.0\n        args:\n"
        );
        assert!(admin().contains("name: cluster-admin"));
    }
}
