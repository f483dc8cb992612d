//! A local image registry for a cluster: a container `<prefix>registry`
//! running the CNCF distribution registry on the cluster's Docker network,
//! its storage in a named volume, published on `127.0.0.1:<port>` of the
//! engine's host (port 5001 unless `cluster.registryPort` says otherwise).
//!
//! Every node's containerd is told (with `hosts.toml` files under
//! `/etc/containerd/certs.d`, the way kind documents its local registry) that
//! images named `localhost:<port>/...` come from the registry container, and,
//! for each upstream given to [`mirror`], that the registry is a mirror of
//! it: pulls of `registry.k8s.io/x:1` ask the registry for `x:1` first.
//! The registry's address is published in the ConfigMap
//! `kube-public/local-registry-hosting` (KEP-1755).
//!
//! State lives in the engine, as everywhere in this tool: the container's
//! labels name its cluster, host port and the subnet it was made for; the
//! upstreams it mirrors are listed in a file in its volume, so they survive
//! `down`/`up` and snapshot restores. The registry does not carry the
//! cluster's label, so `down` (which removes what does) keeps it and its
//! images; `clean` removes both ([`remove`]).
//!
//! For the e2e runner:
//! ```ignore
//! let reg = registry::ensure(cx, None, &ImagePlan { source, cache: &cache }).await?;
//! registry::mirror(cx, "registry.k8s.io").await?;
//! // stored as e2e-test-images/kitten:1.8, found through the mirror
//! registry::push_archive(cx, &reg, &archive, &["registry.k8s.io/e2e-test-images/kitten:1.8".into()]).await?;
//! ```

mod decide;
mod error;
pub mod hosts;
pub mod image;
mod push;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use futures_util::future::try_join_all;
use ipnet::Ipv4Net;

pub use decide::{Action, Existing};
pub use error::{RegistryError, Result};
pub use image::ImagePlan;
pub use push::{archive_references, push, push_archive, push_images, target};

use crate::cluster::state::plan::{ClusterPlan, DEFAULT_CLUSTER};
use crate::cluster::steps::network;
use crate::cluster::Ctx;
use crate::engine::{
    ContainerSpec, ContainerState, ContainerSummary, Engine, NetworkAttachment, PublishedPort,
};
use crate::labels::{
    LABEL_REGISTRY, LABEL_REGISTRY_PORT, LABEL_REGISTRY_SUBNET, LABEL_ROLE, ROLE_REGISTRY,
    ROLE_REGISTRY_DATA,
};

/// Port the registry listens on inside its container.
pub const CONTAINER_PORT: u16 = 5000;
/// Host port of a new registry when the settings name none (kind's choice,
/// so guides written for kind work unchanged).
pub const DEFAULT_HOST_PORT: u16 = 5001;
/// The upstreams the registry mirrors, one a line, in its volume.
const MIRRORS_FILE: &str = "/var/lib/registry/local-cluster-mirrors";

/// Names and address of a cluster's registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryPlan {
    pub cluster: String,
    /// `registry` for the default cluster, `<name>-registry` for others
    /// (the prefix of the node containers).
    pub container: String,
    pub volume: String,
    pub network: String,
    pub subnet: Ipv4Net,
    /// The last host address of the subnet: nodes are numbered from its
    /// start, and a fixed address keeps the engine from handing the
    /// registry a node's address while the nodes are down.
    pub ip: Ipv4Addr,
    /// Host port asked for; None keeps the current one.
    pub port: Option<u16>,
}

impl RegistryPlan {
    pub fn new(plan: &ClusterPlan, port: Option<u16>) -> RegistryPlan {
        let prefix = if plan.name == DEFAULT_CLUSTER {
            String::new()
        } else {
            format!("{}-", plan.name)
        };
        RegistryPlan {
            cluster: plan.name.clone(),
            container: format!("{prefix}registry"),
            volume: format!("{prefix}registry-data"),
            network: plan.network.clone(),
            subnet: plan.subnet,
            ip: Ipv4Addr::from(u32::from(plan.subnet.broadcast()).saturating_sub(1)),
            port,
        }
    }

    /// The address must be a host address no node has.
    fn check_address(&self, plan: &ClusterPlan) -> Result<()> {
        let taken = plan.nodes.iter().any(|n| n.ip == self.ip);
        if taken || !self.subnet.contains(&self.ip) || self.ip <= plan.gateway {
            return Err(RegistryError::NoAddress {
                ip: self.ip.to_string(),
                subnet: self.subnet.to_string(),
            });
        }
        Ok(())
    }

    fn labels(&self, role: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            (LABEL_REGISTRY.to_string(), self.cluster.clone()),
            (LABEL_ROLE.to_string(), role.to_string()),
        ])
    }

    /// The registry's container.
    pub fn container_spec(&self, image: &str, host_port: u16) -> ContainerSpec {
        let mut labels = self.labels(ROLE_REGISTRY);
        labels.insert(LABEL_REGISTRY_PORT.to_string(), host_port.to_string());
        labels.insert(LABEL_REGISTRY_SUBNET.to_string(), self.subnet.to_string());
        ContainerSpec {
            name: self.container.clone(),
            image: image.to_string(),
            labels,
            env: vec![
                format!("REGISTRY_HTTP_ADDR=0.0.0.0:{CONTAINER_PORT}"),
                "OTEL_TRACES_EXPORTER=none".to_string(),
            ],
            network: Some(NetworkAttachment {
                network: self.network.clone(),
                ipv4: Some(self.ip),
                aliases: vec![],
            }),
            binds: vec![format!("{}:/var/lib/registry", self.volume)],
            // Loopback only: it takes pushes from anyone who reaches it.
            // Pushes go through the engine, which reaches its own loopback
            // even when it is remote.
            ports: vec![PublishedPort {
                container_port: CONTAINER_PORT,
                host_ip: "127.0.0.1".to_string(),
                host_port,
            }],
            ..Default::default()
        }
    }
}

/// A cluster's registry as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    pub container: String,
    pub host_port: u16,
    pub ip: Ipv4Addr,
    pub running: bool,
}

impl Registry {
    /// `localhost:<port>`: how images in it are named, by pods and pushes.
    pub fn host(&self) -> String {
        format!("localhost:{}", self.host_port)
    }

    /// How nodes reach it over the cluster network.
    pub fn url_in_cluster(&self) -> String {
        format!("http://{}:{CONTAINER_PORT}", self.container)
    }

    /// How pods reach it (by address: pods need not resolve container names).
    pub fn address_in_cluster(&self) -> String {
        format!("{}:{CONTAINER_PORT}", self.ip)
    }
}

async fn existing_container<E: Engine>(cx: Ctx<'_, E>) -> Result<Option<ContainerSummary>> {
    let mut list = cx
        .engine
        .list_containers(&[(LABEL_REGISTRY, &cx.plan.name), (LABEL_ROLE, ROLE_REGISTRY)])
        .await?;
    Ok(list.pop())
}

fn registry_of(plan: &RegistryPlan, c: &ContainerSummary) -> Registry {
    let existing = Existing::from_labels(c.state == ContainerState::Running, &c.image, &c.labels);
    Registry {
        container: c.name.clone(),
        host_port: existing.port.unwrap_or(DEFAULT_HOST_PORT),
        ip: plan.ip,
        running: existing.running,
    }
}

/// The cluster's registry, if it has one (running or not).
pub async fn find<E: Engine>(cx: Ctx<'_, E>) -> Result<Option<Registry>> {
    let plan = RegistryPlan::new(cx.plan, None);
    Ok(existing_container(cx)
        .await?
        .map(|c| registry_of(&plan, &c)))
}

/// The cluster's registry, running; an error saying how to start it if
/// there is none.
pub async fn running<E: Engine>(cx: Ctx<'_, E>) -> Result<Registry> {
    match find(cx).await? {
        Some(r) if r.running => Ok(r),
        _ => Err(RegistryError::NoRegistry {
            cluster: cx.plan.name.clone(),
            flag: cx.plan.cluster_flag(),
        }),
    }
}

/// Start the cluster's registry if needed (making its image, network,
/// volume and container), on `port` or, when None, on the port it has (a
/// new one on [`DEFAULT_HOST_PORT`]); then configure every running node
/// and publish the address in the cluster.
pub async fn ensure<E: Engine>(
    cx: Ctx<'_, E>,
    port: Option<u16>,
    image: &ImagePlan<'_>,
) -> Result<Registry> {
    let plan = RegistryPlan::new(cx.plan, port);
    plan.check_address(cx.plan)?;
    let existing = existing_container(cx).await?;
    let state = existing
        .as_ref()
        .map(|c| Existing::from_labels(c.state == ContainerState::Running, &c.image, &c.labels));
    let action = decide::action(state.as_ref(), plan.port, &plan.subnet.to_string());
    let reference = match (&action, &state) {
        (Action::Create { .. }, _) | (Action::Recreate { .. }, None) => {
            Some(image::ensure(cx.engine, cx.ui, image).await?)
        }
        (Action::Recreate { .. }, Some(s)) => Some(s.image.clone()),
        _ => None,
    };
    let registry = match carry_out(cx, &plan, &action, reference.as_deref()).await {
        // No port was asked for and another cluster's registry (or another
        // program) has the default one: the next free port will do.
        Err(RegistryError::PortTaken { .. })
            if plan.port.is_none() && matches!(action, Action::Create { .. }) =>
        {
            next_free_port(cx, &plan, reference.as_deref()).await?
        }
        other => other?,
    };
    configure_nodes(cx, &registry).await?;
    publish(cx, &registry).await?;
    Ok(registry)
}

/// Make the registry on the first free port after the default one.
async fn next_free_port<E: Engine>(
    cx: Ctx<'_, E>,
    plan: &RegistryPlan,
    image: Option<&str>,
) -> Result<Registry> {
    let mut last = None;
    for port in DEFAULT_HOST_PORT + 1..=DEFAULT_HOST_PORT + 50 {
        match carry_out(cx, plan, &Action::Create { port }, image).await {
            Err(e @ RegistryError::PortTaken { .. }) => last = Some(e),
            other => return other,
        }
    }
    Err(last.expect("at least one port was tried"))
}

/// Do what [`decide::action`] said. `image` is needed to make a container.
async fn carry_out<E: Engine>(
    cx: Ctx<'_, E>,
    plan: &RegistryPlan,
    action: &Action,
    image: Option<&str>,
) -> Result<Registry> {
    let engine = cx.engine;
    let port = action.port();
    match action {
        Action::Keep { .. } => {}
        Action::Start { .. } => {
            cx.ui
                .note(format!("starting the stopped registry {}", plan.container));
            start(cx, plan, port).await?;
        }
        Action::Create { .. } | Action::Recreate { .. } => {
            if let Action::Recreate { why, .. } = action {
                cx.ui.note(format!(
                    "making the registry container {} again: {why} (its images stay)",
                    plan.container
                ));
                engine.remove_container(&plan.container).await?;
            } else {
                // A leftover of another tool, or of a half-made registry.
                engine.remove_container(&plan.container).await?;
            }
            network::ensure(cx).await?;
            if !engine.volume_exists(&plan.volume).await? {
                engine
                    .create_volume(&plan.volume, &plan.labels(ROLE_REGISTRY_DATA))
                    .await?;
            }
            let image = image.expect("an image is given to make a container");
            engine
                .create_container(&plan.container_spec(image, port))
                .await
                .map_err(|source| RegistryError::Start {
                    container: plan.container.clone(),
                    source,
                })?;
            start(cx, plan, port).await?;
            // The list of mirrors outlives containers, in the volume.
            if engine
                .read_file(&plan.container, MIRRORS_FILE)
                .await
                .is_err()
            {
                write_mirrors(cx, &plan.container, &[]).await?;
            }
        }
    }
    Ok(Registry {
        container: plan.container.clone(),
        host_port: port,
        ip: plan.ip,
        running: true,
    })
}

async fn start<E: Engine>(cx: Ctx<'_, E>, plan: &RegistryPlan, port: u16) -> Result<()> {
    cx.engine
        .start_container(&plan.container)
        .await
        .map_err(|source| {
            if source.is_port_in_use() {
                RegistryError::PortTaken { port, source }
            } else {
                RegistryError::Start {
                    container: plan.container.clone(),
                    source,
                }
            }
        })
}

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

async fn write_mirrors<E: Engine>(cx: Ctx<'_, E>, container: &str, list: &[String]) -> Result<()> {
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
/// there with [`push_archive`] or [`push_images`] under their upstream names.
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
async fn publish<E: Engine>(cx: Ctx<'_, E>, registry: &Registry) -> Result<()> {
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

/// For `up`, before the cluster network is made: a registry made for
/// another subnet is stopped, so that the network can be replaced;
/// [`after_up`] makes it again on the new one.
pub async fn before_network<E: Engine>(cx: Ctx<'_, E>) {
    let stop = async {
        if let Some(c) = existing_container(cx).await? {
            let made_for = c.labels.get(LABEL_REGISTRY_SUBNET);
            if c.state == ContainerState::Running && made_for != Some(&cx.plan.subnet.to_string()) {
                cx.engine.stop_container(&c.name, 10).await?;
            }
        }
        Ok::<_, RegistryError>(())
    };
    if let Err(e) = stop.await {
        cx.ui.warn(format!(
            "could not stop the registry of cluster {:?}: {}",
            cx.plan.name,
            crate::error::chain(&e)
        ));
    }
}

/// For `up`, once the nodes are ready (new or restored from a snapshot):
/// when the cluster has a registry, start it if needed and configure the
/// nodes for it. Problems are warnings: the cluster itself is fine.
pub async fn after_up<E: Engine>(cx: Ctx<'_, E>) {
    let reconcile = async {
        let Some(c) = existing_container(cx).await? else {
            return Ok(None);
        };
        let plan = RegistryPlan::new(cx.plan, None);
        plan.check_address(cx.plan)?;
        let state = Existing::from_labels(c.state == ContainerState::Running, &c.image, &c.labels);
        let action = decide::action(Some(&state), None, &plan.subnet.to_string());
        let registry = carry_out(cx, &plan, &action, Some(&state.image)).await?;
        configure_nodes(cx, &registry).await?;
        publish(cx, &registry).await?;
        Ok::<_, RegistryError>(Some(registry))
    };
    match reconcile.await {
        Ok(Some(registry)) => cx.ui.note(format!(
            "nodes pull localhost:{}/... from the registry {}",
            registry.host_port, registry.container
        )),
        Ok(None) => {}
        Err(e) => cx.ui.warn(format!(
            "the registry of cluster {:?} is not usable: {}",
            cx.plan.name,
            crate::error::chain(&e)
        )),
    }
}

/// For `clean`: remove the registry's container and volume (its images).
pub async fn remove<E: Engine>(cx: Ctx<'_, E>) -> crate::cluster::Result<()> {
    let engine = cx.engine;
    for c in engine
        .list_containers(&[(LABEL_REGISTRY, &cx.plan.name)])
        .await?
    {
        engine.remove_container(&c.name).await?;
    }
    for volume in engine
        .list_volumes(&[(LABEL_REGISTRY, &cx.plan.name)])
        .await?
    {
        engine.remove_volume(&volume).await?;
    }
    Ok(())
}

/// One line for `status`.
pub async fn describe<E: Engine>(cx: Ctx<'_, E>) -> Result<String> {
    Ok(match find(cx).await? {
        None => "none".to_string(),
        Some(r) => {
            let mirrors = if r.running {
                mirrors(cx, &r).await.unwrap_or_default()
            } else {
                Vec::new()
            };
            format!(
                "{} ({}, container {}{})",
                r.host(),
                if r.running { "running" } else { "stopped" },
                r.container,
                if mirrors.is_empty() {
                    String::new()
                } else {
                    format!(", mirror of {}", mirrors.join(", "))
                }
            )
        }
    })
}
