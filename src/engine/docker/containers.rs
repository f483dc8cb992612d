//! Containers through the Docker API.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, NetworkingConfig,
    PortBinding,
};
use bollard::query_parameters::{
    CommitContainerOptionsBuilder, CreateContainerOptionsBuilder, KillContainerOptionsBuilder,
    ListContainersOptionsBuilder, RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use futures_util::TryStreamExt;

use super::{api, is_not_found, label_filters, non_empty, Docker};
use crate::engine::{
    split_reference, ContainerDetails, ContainerSpec, ContainerState, ContainerSummary, Containers,
    ImageConfig, Labels, Result,
};

fn host_config(spec: &ContainerSpec) -> HostConfig {
    let port_bindings: HashMap<String, Option<Vec<PortBinding>>> = spec
        .ports
        .iter()
        .map(|p| {
            let binding = PortBinding {
                host_ip: Some(p.host_ip.clone()),
                host_port: Some(if p.host_port == 0 {
                    String::new()
                } else {
                    p.host_port.to_string()
                }),
            };
            (format!("{}/tcp", p.container_port), Some(vec![binding]))
        })
        .collect();
    HostConfig {
        privileged: Some(spec.privileged),
        cap_add: non_empty(&spec.cap_add),
        cap_drop: non_empty(&spec.cap_drop),
        security_opt: non_empty(&spec.security_opt),
        devices: non_empty(&spec.devices).map(|d| {
            d.into_iter()
                .map(|path| bollard::models::DeviceMapping {
                    path_on_host: Some(path.clone()),
                    path_in_container: Some(path),
                    cgroup_permissions: Some("rwm".to_string()),
                })
                .collect()
        }),
        device_cgroup_rules: non_empty(&spec.device_cgroup_rules),
        tmpfs: (!spec.tmpfs.is_empty())
            .then(|| spec.tmpfs.clone().into_iter().collect::<HashMap<_, _>>()),
        binds: non_empty(&spec.binds),
        extra_hosts: non_empty(&spec.extra_hosts),
        cgroupns_mode: spec
            .cgroupns_private
            .then_some(bollard::models::HostConfigCgroupnsModeEnum::PRIVATE),
        port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
        network_mode: spec.network.as_ref().map(|n| n.network.clone()),
        runtime: spec.runtime.clone(),
        sysctls: (!spec.sysctls.is_empty())
            .then(|| spec.sysctls.clone().into_iter().collect::<HashMap<_, _>>()),
        init: Some(false),
        masked_paths: spec.unmask_system_paths.then(Vec::new),
        readonly_paths: spec.unmask_system_paths.then(Vec::new),
        ..Default::default()
    }
}

fn create_body(spec: &ContainerSpec) -> ContainerCreateBody {
    let networking_config = spec.network.as_ref().map(|n| NetworkingConfig {
        endpoints_config: Some(HashMap::from([(
            n.network.clone(),
            EndpointSettings {
                ipam_config: n.ipv4.map(|ip| EndpointIpamConfig {
                    ipv4_address: Some(ip.to_string()),
                    ..Default::default()
                }),
                aliases: non_empty(&n.aliases),
                ..Default::default()
            },
        )])),
    });
    let exposed: Vec<String> = spec
        .ports
        .iter()
        .map(|p| format!("{}/tcp", p.container_port))
        .collect();
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        hostname: spec.hostname.clone(),
        labels: Some(spec.labels.clone().into_iter().collect()),
        env: non_empty(&spec.env),
        entrypoint: spec.entrypoint.clone(),
        cmd: spec.cmd.clone(),
        tty: Some(spec.tty),
        stop_signal: spec.stop_signal.clone(),
        exposed_ports: non_empty(&exposed),
        host_config: Some(host_config(spec)),
        networking_config,
        ..Default::default()
    }
}

impl Containers for Docker {
    async fn create_container(&self, spec: &ContainerSpec) -> Result<String> {
        let options = CreateContainerOptionsBuilder::default()
            .name(&spec.name)
            .build();
        let created = self
            .api
            .create_container(Some(options), create_body(spec))
            .await
            .map_err(api(format!("create container {}", spec.name)))?;
        Ok(created.id)
    }

    async fn start_container(&self, name: &str) -> Result<()> {
        self.api
            .start_container(
                name,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
            .map_err(api(format!("start container {name}")))
    }

    async fn stop_container(&self, name: &str, timeout_secs: i32) -> Result<()> {
        let options = StopContainerOptionsBuilder::default()
            .t(timeout_secs)
            .build();
        match self.api.stop_container(name, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            // 304: already stopped.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            Err(e) => {
                // Podman answers 500 ("given PIDs did not die within
                // timeout") when the grace period ran out and it killed the
                // container: stopped all the same.
                let state = self.api.inspect_container(name, None).await.ok();
                match state.and_then(|c| c.state).and_then(|s| s.running) {
                    Some(false) => Ok(()),
                    _ => Err(api(format!("stop container {name}"))(e)),
                }
            }
        }
    }

    async fn kill_container(&self, name: &str) -> Result<()> {
        let options = KillContainerOptionsBuilder::default()
            .signal("SIGKILL")
            .build();
        match self.api.kill_container(name, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => {
                // 409 when it does not run (Docker), 500 from Podman when it
                // stopped under the kill: stopped all the same.
                let state = self.api.inspect_container(name, None).await.ok();
                match state.and_then(|c| c.state).and_then(|s| s.running) {
                    Some(false) => Ok(()),
                    _ => Err(api(format!("kill container {name}"))(e)),
                }
            }
        }
    }

    async fn pause_container(&self, name: &str) -> Result<()> {
        self.api
            .pause_container(name)
            .await
            .map_err(api(format!("pause container {name}")))
    }

    async fn unpause_container(&self, name: &str) -> Result<()> {
        self.api
            .unpause_container(name)
            .await
            .map_err(api(format!("unpause container {name}")))
    }

    async fn remove_container(&self, name: &str) -> Result<()> {
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        match self.api.remove_container(name, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(api(format!("remove container {name}"))(e)),
        }
    }

    async fn list_containers(&self, labels: &Labels<'_>) -> Result<Vec<ContainerSummary>> {
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&label_filters(labels))
            .build();
        let list = self
            .api
            .list_containers(Some(options))
            .await
            .map_err(api("list containers"))?;
        Ok(list
            .into_iter()
            .map(|c| ContainerSummary {
                id: c.id.unwrap_or_default(),
                name: c
                    .names
                    .and_then(|n| n.into_iter().next())
                    .map(|n| n.trim_start_matches('/').to_string())
                    .unwrap_or_default(),
                image: c.image.unwrap_or_default(),
                state: match c.state {
                    Some(bollard::models::ContainerSummaryStateEnum::RUNNING) => {
                        ContainerState::Running
                    }
                    Some(bollard::models::ContainerSummaryStateEnum::PAUSED) => {
                        ContainerState::Paused
                    }
                    _ => ContainerState::NotRunning,
                },
                labels: c.labels.unwrap_or_default(),
            })
            .collect())
    }

    async fn inspect_container(&self, name: &str) -> Result<Option<ContainerDetails>> {
        let c = match self
            .api
            .inspect_container(
                name,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
        {
            Ok(c) => c,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(api(format!("inspect container {name}"))(e)),
        };
        let state = c.state.unwrap_or_default();
        let mut host_ports = HashMap::new();
        if let Some(ports) = c.network_settings.and_then(|n| n.ports) {
            for (key, bindings) in ports {
                let Some(port) = key.split('/').next().and_then(|p| p.parse::<u16>().ok()) else {
                    continue;
                };
                if let Some(host_port) = bindings
                    .unwrap_or_default()
                    .into_iter()
                    .find_map(|b| b.host_port.and_then(|p| p.parse::<u16>().ok()))
                {
                    host_ports.insert(port, host_port);
                }
            }
        }
        Ok(Some(ContainerDetails {
            id: c.id.unwrap_or_default(),
            name: c
                .name
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            image_id: c.image.unwrap_or_default(),
            running: state.running.unwrap_or(false),
            status: state.status.map(|s| s.to_string()).unwrap_or_default(),
            labels: c.config.and_then(|c| c.labels).unwrap_or_default(),
            host_ports,
        }))
    }

    async fn log_tail(&self, name: &str, lines: usize) -> Result<String> {
        let options = bollard::query_parameters::LogsOptions {
            stdout: true,
            stderr: true,
            tail: lines.to_string(),
            ..Default::default()
        };
        let chunks: Vec<_> = self
            .api
            .logs(name, Some(options))
            .try_collect()
            .await
            .map_err(api(format!("logs of container {name}")))?;
        let bytes: Vec<u8> = chunks
            .into_iter()
            .flat_map(|c| c.into_bytes().to_vec())
            .collect();
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    async fn commit_container(
        &self,
        container: &str,
        reference: &str,
        config: &ImageConfig,
    ) -> Result<String> {
        let (repo, tag) = split_reference(reference);
        let mut options = CommitContainerOptionsBuilder::default()
            .container(container)
            .repo(repo)
            .tag(tag)
            .pause(true);
        if self.info.product == crate::engine::Product::Podman {
            options = options.changes(&super::changes::podman_commit_changes(config));
        }
        let options = options.build();
        let body = bollard::models::ContainerConfig {
            labels: Some(config.labels.clone().into_iter().collect()),
            entrypoint: config.entrypoint.clone(),
            cmd: config.cmd.clone(),
            env: non_empty(&config.env),
            stop_signal: config.stop_signal.clone(),
            user: config.user.clone(),
            working_dir: config.working_dir.clone(),
            ..Default::default()
        };
        let id = self
            .api
            .commit_container(options, body)
            .await
            .map_err(api(format!("commit container {container} as {reference}")))?;
        Ok(id.id)
    }
}
