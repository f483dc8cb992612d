//! What the nodes are told: the upstreams the registry mirrors (listed in
//! its volume), the `hosts.toml` files in every node's containerd, and the
//! ConfigMap that publishes the registry's address in the cluster.

use futures_util::future::try_join_all;

use super::error::{RegistryError, Result};
use super::hosts;
use super::plan::{running, Registry};
use crate::cluster::Ctx;
use crate::engine::Engine;

/// The upstreams the registry mirrors, one a line, in its volume.
pub(super) const MIRRORS_FILE: &str = "/var/lib/registry/local-cluster-mirrors";

/// The upstreams the registry mirrors.
pub async fn mirrors<E: Engine>(cx: Ctx<'_, E>, registry: &Registry) -> Result<Vec<String>> {
    let bytes = cx
        .engine
        .read_file(&registry.container, MIRRORS_FILE)
        .await
        .map_err(|source| RegistryError::ReadMirrors {
            container: registry.container.clone(),
            source,
        })?;
    Ok(String::from_utf8_lossy(&bytes)
        .lines()
        .map(str::trim)
        .filter(|l| hosts::is_registry_host(l))
        .map(str::to_string)
        .collect())
}

pub(super) async fn write_mirrors<E: Engine>(
    cx: Ctx<'_, E>,
    container: &str,
    list: &[String],
) -> Result<()> {
    let mut text = list.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    cx.engine
        .write_file(container, MIRRORS_FILE, 0o644, text.as_bytes())
        .await
        .map_err(|source| RegistryError::WriteMirrors {
            container: container.to_string(),
            source,
        })
}

/// Make the registry a mirror of `upstream` (`registry.k8s.io`,
/// `docker.io`, ...) for every node, now and after later `up`s: pulls of
/// `upstream/path:tag` ask the registry for `path:tag` first. Put images
/// there with [`push_archive`](super::push_archive) or
/// [`push_images`](super::push_images) under their upstream names.
pub async fn mirror<E: Engine>(cx: Ctx<'_, E>, upstream: &str) -> Result<()> {
    if !hosts::is_registry_host(upstream) || upstream.starts_with("localhost") {
        return Err(RegistryError::BadUpstream {
            upstream: upstream.to_string(),
        });
    }
    let registry = running(cx).await?;
    let mut list = mirrors(cx, &registry).await?;
    if !list.iter().any(|m| m == upstream) {
        list.push(upstream.to_string());
        write_mirrors(cx, &registry.container, &list).await?;
    }
    configure_nodes(cx, &registry).await
}

/// Write the `hosts.toml` files into every running node: `localhost:<port>`
/// and each mirrored upstream. containerd reads them at each pull, so no
/// restart is needed.
pub async fn configure_nodes<E: Engine>(cx: Ctx<'_, E>, registry: &Registry) -> Result<()> {
    let mut files = vec![(
        hosts::hosts_path(&registry.host()),
        hosts::local_hosts_toml(&registry.url_in_cluster()),
    )];
    for upstream in mirrors(cx, registry).await? {
        files.push((
            hosts::hosts_path(&upstream),
            hosts::mirror_hosts_toml(&upstream, &registry.url_in_cluster()),
        ));
    }
    let nodes = cx.node_containers().await?;
    let files = &files;
    let engine = cx.engine;
    try_join_all(
        nodes
            .iter()
            .filter(|(_, up)| **up)
            .map(|(node, _)| async move {
                let configure = async {
                    for (path, text) in files {
                        engine
                            .write_file(node, path, 0o644, text.as_bytes())
                            .await?;
                    }
                    // Node images made before the registry existed leave
                    // containerd's config_path unset, and it ignores these files.
                    engine
                        .exec(
                            node,
                            &[
                                "grep",
                                "-q",
                                hosts::CERTS_DIR,
                                "/etc/containerd/config.toml",
                            ],
                            Default::default(),
                        )
                        .await
                };
                match configure.await {
                    Ok(out) if out.exit_code != 0 => cx.ui.warn(format!(
                "containerd on {node} does not read {} (its node image is older than registry \
                 support): pods cannot pull from the registry; rebuild the node image \
                 (`local-cluster build node-image`) and bring the cluster up again",
                hosts::CERTS_DIR
            )),
                    Ok(_) => {}
                    Err(source) => {
                        return Err(RegistryError::ConfigureNode {
                            node: node.clone(),
                            source,
                        })
                    }
                }
                Ok(())
            }),
    )
    .await?;
    Ok(())
}

/// Apply the ConfigMap `kube-public/local-registry-hosting` when the
/// cluster's master runs.
pub(super) async fn publish<E: Engine>(cx: Ctx<'_, E>, registry: &Registry) -> Result<()> {
    let nodes = cx.node_containers().await?;
    if nodes.get(&cx.plan.master().container) != Some(&true) {
        return Ok(());
    }
    let manifest = hosts::local_registry_hosting(&registry.host(), &registry.address_in_cluster());
    cx.kubectl()
        .apply(&manifest)
        .await
        .map_err(|e| RegistryError::Publish(Box::new(e)))?;
    Ok(())
}
