//! kube-router as pod network and NetworkPolicy enforcer, kube-proxy kept:
//! installed from its own `daemonset/kubeadm-kuberouter.yaml` (of its Go
//! module), which runs its router (BGP between the nodes, routes to each
//! node's pod range via its address: all nodes share one Docker network, so
//! no tunnel) and its firewall (NetworkPolicy as iptables and ipset rules),
//! with its service proxy off.
//!
//! The manifest is rendered for this cluster: the image pinned to the
//! version built or pulled (upstream names it untagged and pulls it
//! always), overlays off (they would need IPIP, which kernels like ours may
//! lack), the cluster's Service range for its policy rules, and the API
//! server on the master to talk to.
//!
//! Its image, when built: kube-router from its module, over Debian's
//! iptables, ipset and iproute2, and busybox applets for the manifest's
//! install script. Debian keeps iproute2's `rt_tables` under /usr/share;
//! kube-router reads it from /etc/iproute2, so a copy goes there.

use super::images::KUBE_ROUTER;
use super::{
    manifest_images, module_file, reach_api_directly, replace_n, replace_once, CniError, Inputs,
    Install,
};
use crate::artifacts::gomod::{self, GoModuleBuild};
use crate::engine::Engine;
use crate::settings::ImageSource;

/// The kube-router release installed (the newest the Go proxy serves).
pub const VERSION: &str = "v2.1.0";
const MODULE: &str = "github.com/cloudnativelabs/kube-router/v2";
const MANIFEST: &str = "daemonset/kubeadm-kuberouter.yaml";
const UPSTREAM_IMAGE: &str = "image: docker.io/cloudnativelabs/kube-router\n";
/// The main container and the install-cni init container.
const IMAGE_USES: usize = 2;
const LAST_ARG: &str = "        - --bgp-graceful-restart=true\n";

/// The manifest for this cluster; `image` is what both containers run.
fn render(upstream: &str, image: &str, service_range: &str) -> Result<String, CniError> {
    let manifest = replace_n(
        upstream,
        UPSTREAM_IMAGE,
        &format!("image: {image}\n"),
        "its image",
        IMAGE_USES,
    )?;
    let manifest = replace_n(
        &manifest,
        "imagePullPolicy: Always",
        "imagePullPolicy: IfNotPresent",
        "its pull policy",
        IMAGE_USES,
    )?;
    replace_once(
        &manifest,
        LAST_ARG,
        &format!(
            "{LAST_ARG}        - --enable-overlay=false\n        - --service-cluster-ip-range={service_range}\n"
        ),
        "its last argument",
    )
}

pub async fn prepare<E: Engine>(inputs: &Inputs<'_, E>) -> Result<Install, CniError> {
    let (_, upstream) = module_file(inputs, MODULE, VERSION, MANIFEST, "kube-router").await?;
    let reference = format!("docker.io/cloudnativelabs/kube-router:{VERSION}");
    let manifest = render(&upstream, &reference, &inputs.service_subnet.to_string())?;
    let manifest = reach_api_directly(&manifest, inputs.api_server)?;
    let named = manifest_images(&manifest);
    if named != [reference.clone()] {
        return Err(CniError::CannotBuild {
            image: named.join(", "),
            why: format!("kube-router {VERSION}'s manifest is expected to name only kube-router"),
        });
    }
    let archive = match super::image_source(inputs, std::slice::from_ref(&reference)).await {
        ImageSource::Registry => inputs.build.pulled(&reference).await?,
        ImageSource::Build => build_image(inputs, &reference).await?,
    };
    Ok(Install {
        manifest: Some(manifest),
        images: vec![archive],
    })
}

async fn build_image<E>(
    inputs: &Inputs<'_, E>,
    reference: &str,
) -> Result<std::path::PathBuf, CniError> {
    let what = format!("kube-router {VERSION}");
    let build = GoModuleBuild {
        module: MODULE.to_string(),
        version: VERSION.to_string(),
        binaries: vec![(
            format!("{MODULE}/cmd/kube-router"),
            "kube-router".to_string(),
        )],
        ldflags: format!("-s -w -X {MODULE}/pkg/version.Version={VERSION}"),
        tags: vec![],
        arch: inputs.build.arch.to_string(),
        sibling_version: gomod::same_version,
    };
    let bin = inputs.build.go_binaries(build, &what, &[]).await?;
    let rt_tables = inputs
        .build
        .system_file("usr/share/iproute2/rt_tables")
        .await?;
    let files = [
        (
            "usr/local/bin/kube-router".to_string(),
            bin.join("kube-router"),
        ),
        ("etc/iproute2/rt_tables".to_string(), rt_tables),
    ];
    // The manifest gives the main container only arguments, as upstream's
    // image runs kube-router.
    Ok(inputs
        .build
        .image(
            reference,
            Some(&KUBE_ROUTER),
            &files,
            Some("/usr/local/bin/kube-router"),
        )
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPSTREAM: &str = "containers:\n      - name: kube-router\n        image: docker.io/cloudnativelabs/kube-router\n        imagePullPolicy: Always\n        args:\n        - --run-router=true\n        - --bgp-graceful-restart=true\n        env:\n      initContainers:\n      - name: install-cni\n        image: docker.io/cloudnativelabs/kube-router\n        imagePullPolicy: Always\n";

    #[test]
    fn the_manifest_is_pinned_and_told_the_cluster_ranges() {
        let m = render(
            UPSTREAM,
            "docker.io/cloudnativelabs/kube-router:v2.1.0",
            "10.96.0.0/12",
        )
        .unwrap();
        assert_eq!(
            manifest_images(&m),
            vec!["docker.io/cloudnativelabs/kube-router:v2.1.0"]
        );
        assert!(!m.contains("Always"), "{m}");
        assert!(m.contains("- --bgp-graceful-restart=true\n        - --enable-overlay=false\n        - --service-cluster-ip-range=10.96.0.0/12\n        env:"), "{m}");
    }

    #[test]
    fn a_manifest_of_another_layout_is_refused() {
        let err = render(
            &UPSTREAM.replace("--bgp-graceful-restart=true", "--x"),
            "i",
            "10.96.0.0/12",
        )
        .unwrap_err();
        assert!(err.to_string().contains("its last argument"), "{err}");
    }
}
