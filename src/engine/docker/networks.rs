//! Networks through the Docker API.

use std::collections::HashMap;

use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest};
use bollard::query_parameters::ListNetworksOptionsBuilder;

use super::{api, is_not_found, Docker};
use crate::engine::{NetworkDetails, NetworkSpec, Networks, Result};

fn subnets(ipam: Option<Ipam>) -> Vec<String> {
    ipam.and_then(|i| i.config)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| c.subnet)
        .collect()
}

impl Networks for Docker {
    async fn create_network(&self, spec: &NetworkSpec) -> Result<String> {
        let request = NetworkCreateRequest {
            name: spec.name.clone(),
            driver: Some("bridge".to_string()),
            ipam: Some(Ipam {
                config: Some(vec![IpamConfig {
                    subnet: Some(spec.subnet.clone()),
                    gateway: Some(spec.gateway.clone()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            labels: Some(spec.labels.clone().into_iter().collect()),
            options: Some(HashMap::from([(
                // The nodes talk to each other and the world; keep masquerading on.
                "com.docker.network.bridge.enable_ip_masquerade".to_string(),
                "true".to_string(),
            )])),
            ..Default::default()
        };
        let created = self.api.create_network(request).await.map_err(api(format!(
            "create network {} with subnet {}",
            spec.name, spec.subnet
        )))?;
        Ok(created.id)
    }

    async fn inspect_network(&self, name: &str) -> Result<Option<NetworkDetails>> {
        match self
            .api
            .inspect_network(
                name,
                None::<bollard::query_parameters::InspectNetworkOptions>,
            )
            .await
        {
            Ok(n) => Ok(Some(NetworkDetails {
                id: n.id.unwrap_or_default(),
                name: n.name.unwrap_or_default(),
                subnets: subnets(n.ipam),
                labels: n.labels.unwrap_or_default(),
            })),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(api(format!("inspect network {name}"))(e)),
        }
    }

    async fn list_networks(&self) -> Result<Vec<NetworkDetails>> {
        let options = ListNetworksOptionsBuilder::default().build();
        let list = self
            .api
            .list_networks(Some(options))
            .await
            .map_err(api("list networks"))?;
        Ok(list
            .into_iter()
            .map(|n| NetworkDetails {
                id: n.id.unwrap_or_default(),
                name: n.name.unwrap_or_default(),
                subnets: subnets(n.ipam),
                labels: n.labels.unwrap_or_default(),
            })
            .collect())
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        match self.api.remove_network(name).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(api(format!("remove network {name}"))(e)),
        }
    }
}
