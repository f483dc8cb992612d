//! Pod networks. Each plugin knows what to install and how, given the nodes
//! and their pod ranges once they have joined. Plugins that run as pods
//! (flannel, kube-router) are prepared before anything is created: their manifest and
//! the images it names, pulled or built here ([`prepare`]).

pub mod bridge;
pub mod calico;
mod error;
pub mod flannel;
mod images;
pub mod kube_router;
pub mod registry_only;
pub mod weave;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;

use ipnet::Ipv4Net;

pub use error::CniError;

use crate::engine::Engine;
use crate::images::BuildContext;
use crate::settings::{CniPlugin, ImageSource};

/// A node as the pod network sees it.
#[derive(Debug, Clone)]
pub struct NetworkNode {
    pub container: String,
    pub name: String,
    pub ip: Ipv4Addr,
    /// From the Node object's spec.podCIDR (allocated by the controller manager).
    pub pod_cidr: Ipv4Net,
}

/// What `up` installs for a pod network that runs as pods: the images its
/// manifest names, imported into every node first, then the manifest.
#[derive(Debug, Clone, Default)]
pub struct Install {
    pub manifest: Option<String>,
    /// `docker save` archives.
    pub images: Vec<PathBuf>,
}

/// What preparing a pod network needs.
pub struct Inputs<'a, E> {
    pub build: BuildContext<'a, E>,
    pub pod_subnet: Ipv4Net,
    pub service_subnet: Ipv4Net,
    /// The API server on the master, as the nodes reach it.
    pub api_server: SocketAddrV4,
}

/// The manifest and images of `plugin` (nothing for plugins that are not
/// pods, like bridge, or for none).
pub async fn prepare<E: Engine>(
    plugin: CniPlugin,
    inputs: &Inputs<'_, E>,
) -> Result<Install, CniError> {
    if let Some(network) = registry_only(plugin) {
        return registry_only::prepare(network, inputs).await;
    }
    match plugin {
        CniPlugin::Flannel => flannel::prepare(inputs).await,
        CniPlugin::KubeRouter => kube_router::prepare(inputs).await,
        CniPlugin::Bridge | CniPlugin::None | CniPlugin::Calico | CniPlugin::Weave => {
            Ok(Install::default())
        }
    }
}

/// Whether the images `references` name are pulled or built: with `auto`,
/// as their (first one's) registry answers.
async fn image_source<E>(inputs: &Inputs<'_, E>, references: &[String]) -> ImageSource {
    match references.first() {
        Some(first) => inputs.build.source_of(first).await,
        None => inputs
            .build
            .image_source
            .fixed()
            .unwrap_or(ImageSource::Build),
    }
}

/// A module version's source directory and the text of its `file` (a
/// plugin's manifest), for errors naming the plugin `what`.
async fn module_file<E>(
    inputs: &Inputs<'_, E>,
    module: &str,
    version: &str,
    file: &str,
    what: &str,
) -> Result<(PathBuf, String), CniError> {
    let what = format!("{what} {version} ({module})");
    Ok(inputs
        .build
        .module_file(&what, module, version, file)
        .await?)
}

/// The manifest with its one container `env:` list (the network daemon's)
/// naming the API server on the master, in place of the `kubernetes`
/// Service address the kubelet would give it. The daemon starts on a new
/// node before kube-proxy has made that address work, and would fail and be
/// restarted with back-off until then; the master's address works at once
/// (its certificate names it).
fn reach_api_directly(manifest: &str, api: SocketAddrV4) -> Result<String, CniError> {
    const ENV: &str = "        env:\n";
    replace_once(
        manifest,
        ENV,
        &format!(
            "{ENV}        - name: KUBERNETES_SERVICE_HOST\n          value: \"{}\"\n        - name: KUBERNETES_SERVICE_PORT\n          value: \"{}\"\n",
            api.ip(),
            api.port()
        ),
        "the daemon's environment",
    )
}

/// The image references a manifest names, each once, in order.
pub fn manifest_images(manifest: &str) -> Vec<String> {
    crate::manifest::images(manifest)
}

/// `text` with `from`, which must occur exactly once, replaced by `to`.
fn replace_once(text: &str, from: &str, to: &str, what: &str) -> Result<String, CniError> {
    replace_n(text, from, to, what, 1)
}

/// `text` with each of the exactly `times` occurrences of `from` replaced.
fn replace_n(
    text: &str,
    from: &str,
    to: &str,
    what: &str,
    times: usize,
) -> Result<String, CniError> {
    crate::manifest::replace_n(text, from, to, what, times)
        .map_err(|e| CniError::Manifest(e.to_string()))
}

/// The registry-only network `plugin` is, if it is one.
pub fn registry_only(plugin: CniPlugin) -> Option<&'static registry_only::RegistryOnly> {
    match plugin {
        CniPlugin::Calico => Some(&calico::CALICO),
        CniPlugin::Weave => Some(&weave::WEAVE),
        CniPlugin::Bridge | CniPlugin::Flannel | CniPlugin::KubeRouter | CniPlugin::None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daemon_is_told_the_api_server() {
        let m = "        env:\n        - name: POD_NAME\n";
        let out = reach_api_directly(m, "10.192.0.2:6443".parse().unwrap()).unwrap();
        assert_eq!(
            out,
            "        env:\n        - name: KUBERNETES_SERVICE_HOST\n          value: \"10.192.0.2\"\n        - name: KUBERNETES_SERVICE_PORT\n          value: \"6443\"\n        - name: POD_NAME\n"
        );
    }
}
