//! What a cluster's registry is called and where it is: its plan (names,
//! address, container) and the registry as the engine holds it, found by
//! its labels.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::decide::Existing;
use super::error::{RegistryError, Result};
use super::{CONTAINER_PORT, DEFAULT_HOST_PORT};
use crate::cluster::state::plan::{ClusterPlan, DEFAULT_CLUSTER};
use crate::cluster::Ctx;
use crate::engine::{
    ContainerSpec, ContainerState, ContainerSummary, Engine, NetworkAttachment, PublishedPort,
};
use crate::labels::{
    LABEL_REGISTRY, LABEL_REGISTRY_PORT, LABEL_REGISTRY_SUBNET, LABEL_ROLE, ROLE_REGISTRY,
};

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
    pub(super) fn check_address(&self, plan: &ClusterPlan) -> Result<()> {
        let taken = plan.nodes.iter().any(|n| n.ip == self.ip);
        if taken || !self.subnet.contains(&self.ip) || self.ip <= plan.gateway {
            return Err(RegistryError::NoAddress {
                ip: self.ip.to_string(),
                subnet: self.subnet.to_string(),
            });
        }
        Ok(())
    }

    pub(super) fn labels(&self, role: &str) -> BTreeMap<String, String> {
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

    /// How nodes reach it over the cluster network: by its fixed address,
    /// as pods do. Its container name resolves only where the engine's
    /// networks have DNS (Podman's CNI networks without the dnsname plugin
    /// have none: the nodes' pulls from it failed there).
    pub fn url_in_cluster(&self) -> String {
        format!("http://{}", self.address_in_cluster())
    }

    /// How pods reach it (by address: pods need not resolve container names).
    pub fn address_in_cluster(&self) -> String {
        format!("{}:{CONTAINER_PORT}", self.ip)
    }
}

pub(super) async fn existing_container<E: Engine>(
    cx: Ctx<'_, E>,
) -> Result<Option<ContainerSummary>> {
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
