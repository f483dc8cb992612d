//! flannel with its vxlan backend, installed from flannel's own manifest
//! (`Documentation/kube-flannel.yml` of its Go module, the file its releases
//! publish) with the cluster's pod range in place of flannel's default, and
//! flanneld pointed at the API server on the master.
//!
//! Its images are pulled (`imageSource: registry`) or built here:
//! - flannel's image: flanneld and install-conf from flannel's module, over
//!   Debian's iptables. flanneld is built from a copy of its `main.go`
//!   without two backends: tencentvpc imports a module the Go proxy does
//!   not serve, and udp needs cgo. vxlan, host-gw and the others stay.
//! - the CNI plugin image: the `flannel` plugin from containernetworking's
//!   plugins v0.9.1, the last release that had it (flannel's own cni-plugin
//!   module is not on the proxy). It speaks CNI up to 0.4.0, so the
//!   manifest's CNI configuration asks for that version, and the image is
//!   named for what it holds.

use std::path::PathBuf;

use super::images::{BUSYBOX, FLANNEL};
use super::{
    manifest_images, module_file, reach_api_directly, replace_once, CniError, Inputs, Install,
};
use crate::artifacts::gomod::{self, GoModuleBuild, WrapperFile, WRAPPER_MODULE};
use crate::engine::Engine;
use crate::settings::ImageSource;

/// The flannel release installed.
pub const VERSION: &str = "v0.28.10";
const MODULE: &str = "github.com/flannel-io/flannel";
const MANIFEST: &str = "Documentation/kube-flannel.yml";
/// The pod range flannel's manifest is written for.
const UPSTREAM_NETWORK: &str = "\"Network\": \"10.244.0.0/16\"";
/// Blank imports of backends that cannot be built here (see above).
const LEFT_OUT_BACKENDS: [&str; 2] = ["/pkg/backend/tencentvpc\"", "/pkg/backend/udp\""];

const CNI_PLUGINS_MODULE: &str = "github.com/containernetworking/plugins";
const CNI_PLUGINS_VERSION: &str = "v0.9.1";
const BUILT_CNI_PLUGIN_IMAGE: &str = "kubeadm-local-cluster/flannel-cni-plugin:v0.9.1";
const UPSTREAM_CNI_VERSION: &str = "\"cniVersion\": \"1.0.0\"";
const BUILT_CNI_VERSION: &str = "\"cniVersion\": \"0.4.0\"";

pub async fn prepare<E: Engine>(inputs: &Inputs<'_, E>) -> Result<Install, CniError> {
    let (module, upstream) = module_file(inputs, MODULE, VERSION, MANIFEST, "flannel").await?;
    let manifest = for_pod_range(&upstream, inputs.pod_subnet)?;
    let manifest = reach_api_directly(&manifest, inputs.api_server)?;
    let references = manifest_images(&manifest);
    match super::image_source(inputs, &references).await {
        ImageSource::Registry => {
            let mut archives = Vec::new();
            for reference in &references {
                archives.push(inputs.build.pulled(reference).await?);
            }
            Ok(Install {
                manifest: Some(manifest),
                images: archives,
            })
        }
        ImageSource::Build => build(inputs, &module, manifest, &references).await,
    }
}

/// flannel's manifest with the cluster's pod range.
fn for_pod_range(upstream: &str, pod_subnet: ipnet::Ipv4Net) -> Result<String, CniError> {
    replace_once(
        upstream,
        UPSTREAM_NETWORK,
        &format!("\"Network\": \"{pod_subnet}\""),
        "the pod range",
    )
}

/// The manifest with the CNI plugin built here in place of `upstream_image`,
/// and the CNI version that plugin speaks.
fn with_built_plugin(manifest: &str, upstream_image: &str) -> Result<String, CniError> {
    let manifest = replace_once(
        manifest,
        upstream_image,
        BUILT_CNI_PLUGIN_IMAGE,
        "its image",
    )?;
    replace_once(
        &manifest,
        UPSTREAM_CNI_VERSION,
        BUILT_CNI_VERSION,
        "the CNI version",
    )
}

/// Build each image the manifest names and point the manifest at them.
async fn build<E>(
    inputs: &Inputs<'_, E>,
    module: &std::path::Path,
    mut manifest: String,
    references: &[String],
) -> Result<Install, CniError> {
    let mut archives = Vec::new();
    for reference in references {
        let (repository, _) = crate::engine::split_reference(reference);
        let archive = match repository.rsplit('/').next() {
            Some("flannel") => flannel_image(inputs, module, reference).await?,
            Some("flannel-cni-plugin") => {
                manifest = with_built_plugin(&manifest, reference)?;
                cni_plugin_image(inputs).await?
            }
            _ => {
                return Err(CniError::CannotBuild {
                    image: reference.clone(),
                    why: format!("flannel {VERSION}'s manifest is expected to name only flannel and flannel-cni-plugin"),
                })
            }
        };
        archives.push(archive);
    }
    Ok(Install {
        manifest: Some(manifest),
        images: archives,
    })
}

async fn flannel_image<E>(
    inputs: &Inputs<'_, E>,
    module: &std::path::Path,
    reference: &str,
) -> Result<PathBuf, CniError> {
    let path = module.join("main.go");
    let main = std::fs::read_to_string(&path).map_err(|source| CniError::Io {
        path: path.clone(),
        source,
    })?;
    let main: String = main
        .lines()
        .filter(|line| !LEFT_OUT_BACKENDS.iter().any(|b| line.contains(b)))
        .map(|line| format!("{line}\n"))
        .collect();
    let what = format!("flannel {VERSION}");
    let build = GoModuleBuild {
        module: MODULE.to_string(),
        version: VERSION.to_string(),
        binaries: vec![
            (
                format!("{WRAPPER_MODULE}/cmd/flanneld"),
                "flanneld".to_string(),
            ),
            (
                format!("{MODULE}/cmd/install_conf"),
                "install-conf".to_string(),
            ),
        ],
        ldflags: format!("-s -w -X {MODULE}/pkg/version.Version={VERSION}"),
        tags: vec![],
        arch: inputs.build.arch.to_string(),
        sibling_version: gomod::same_version,
    };
    let main = WrapperFile {
        path: "cmd/flanneld/main.go".to_string(),
        content: main,
    };
    let bin = inputs.build.go_binaries(build, &what, &[main]).await?;
    let files = [
        ("opt/bin/flanneld".to_string(), bin.join("flanneld")),
        ("opt/bin/install-conf".to_string(), bin.join("install-conf")),
    ];
    Ok(inputs
        .build
        .image(reference, Some(&FLANNEL), &files, None)
        .await?)
}

async fn cni_plugin_image<E>(inputs: &Inputs<'_, E>) -> Result<PathBuf, CniError> {
    let what = format!("the flannel CNI plugin ({CNI_PLUGINS_MODULE} {CNI_PLUGINS_VERSION})");
    let build = GoModuleBuild {
        module: CNI_PLUGINS_MODULE.to_string(),
        version: CNI_PLUGINS_VERSION.to_string(),
        binaries: vec![(
            format!("{CNI_PLUGINS_MODULE}/plugins/meta/flannel"),
            "flannel".to_string(),
        )],
        ldflags: "-s -w".to_string(),
        tags: vec![],
        arch: inputs.build.arch.to_string(),
        sibling_version: gomod::same_version,
    };
    let bin = inputs.build.go_binaries(build, &what, &[]).await?;
    let files = [("flannel".to_string(), bin.join("flannel"))];
    Ok(inputs
        .build
        .image(BUILT_CNI_PLUGIN_IMAGE, Some(&BUSYBOX), &files, None)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPSTREAM: &str = "  cni-conf.json: |\n    {\n      \"name\": \"cbr0\",\n      \"cniVersion\": \"1.0.0\",\n    }\n  net-conf.json: |\n    {\n      \"Network\": \"10.244.0.0/16\",\n    }\n      initContainers:\n      - name: install-cni-plugin\n        image: ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3\n      - name: install-cni\n        image: ghcr.io/flannel-io/flannel:v0.28.10\n";

    #[test]
    fn the_manifest_gets_the_pod_range_and_the_plugin_built_here() {
        let m = for_pod_range(UPSTREAM, "10.200.0.0/16".parse().unwrap()).unwrap();
        assert!(m.contains("\"Network\": \"10.200.0.0/16\""), "{m}");
        let m =
            with_built_plugin(&m, "ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3").unwrap();
        assert_eq!(
            manifest_images(&m),
            vec![
                BUILT_CNI_PLUGIN_IMAGE,
                "ghcr.io/flannel-io/flannel:v0.28.10"
            ]
        );
        assert!(m.contains("\"cniVersion\": \"0.4.0\""), "{m}");
    }

    #[test]
    fn a_manifest_for_another_range_is_refused() {
        let other = UPSTREAM.replace("10.244.0.0/16", "10.1.0.0/16");
        let err = for_pod_range(&other, "10.200.0.0/16".parse().unwrap()).unwrap_err();
        assert!(err.to_string().contains("the pod range"), "{err}");
    }
}
