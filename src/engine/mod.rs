//! The Docker engine, reached through its HTTP API (bollard).
//!
//! Everything the tool does to the engine goes through [`Engine`]: node
//! containers, the cluster network, snapshot volumes and images, and commands
//! run inside nodes. Errors name the object and the operation, and a failed
//! command run in a node carries its output.

pub mod endpoint;
pub mod exec;
pub mod stream;

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, Ipam, IpamConfig,
    NetworkCreateRequest, NetworkingConfig, PortBinding, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CommitContainerOptionsBuilder, CreateContainerOptionsBuilder, CreateImageOptionsBuilder,
    ListContainersOptionsBuilder, ListImagesOptionsBuilder, ListNetworksOptionsBuilder,
    ListVolumesOptionsBuilder, RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder,
    RemoveVolumeOptionsBuilder, StopContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use bollard::Docker;
use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};

pub use endpoint::Endpoint;
pub use exec::{ExecError, ExecOutput};

/// Label on everything the tool creates; its value is the cluster name.
pub const LABEL_CLUSTER: &str = "io.kubeadm-local-cluster.cluster";
/// Label saying what an object is for (`node`, `network`, `snapshot`, `node-image`...).
pub const LABEL_ROLE: &str = "io.kubeadm-local-cluster.role";

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Endpoint(#[from] endpoint::EndpointError),
    #[error("cannot reach the Docker engine at {host} (from {origin}; is dockerd running?)")]
    Connect {
        host: String,
        origin: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("Docker engine: {action}")]
    Api {
        action: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error(transparent)]
    Exec(#[from] ExecError),
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

impl EngineError {
    /// The engine refused because the object is in use (HTTP 409), e.g. an
    /// image other images are made from.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            EngineError::Api {
                source: bollard::errors::Error::DockerResponseServerError {
                    status_code: 409,
                    ..
                },
                ..
            }
        )
    }
}

/// An error and its causes on one line, for notes and warnings.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

fn api(action: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> EngineError {
    let action = action.into();
    move |source| EngineError::Api { action, source }
}

fn is_not_found(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Facts about the engine that decide how nodes are run.
#[derive(Debug, Clone)]
pub struct EngineInfo {
    pub server_version: String,
    pub api_version: String,
    /// Kubernetes/Go architecture name of the engine's machine (`amd64`, `arm64`, ...).
    pub arch: String,
    pub os_type: String,
    /// 1 or 2.
    pub cgroup_version: u8,
    pub cgroup_driver: String,
    pub rootless: bool,
    pub runtimes: Vec<String>,
    pub kernel_version: String,
}

/// A connected engine.
#[derive(Clone)]
pub struct Engine {
    docker: Docker,
    endpoint: Endpoint,
    info: EngineInfo,
}

/// How a container is to be created.
#[derive(Debug, Clone, Default)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub hostname: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub env: Vec<String>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub network: Option<NetworkAttachment>,
    pub privileged: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub security_opt: Vec<String>,
    pub devices: Vec<String>,
    pub device_cgroup_rules: Vec<String>,
    /// Mount point → tmpfs options.
    pub tmpfs: BTreeMap<String, String>,
    /// `volume-or-host-path:container-path[:options]`.
    pub binds: Vec<String>,
    /// A private cgroup namespace (cgroup v1 hosts need it asked for explicitly).
    pub cgroupns_private: bool,
    pub stop_signal: Option<String>,
    pub ports: Vec<PublishedPort>,
    pub tty: bool,
    pub runtime: Option<String>,
    pub sysctls: BTreeMap<String, String>,
    /// Leave /proc and /sys paths unmasked and writable (the API's form of
    /// the CLI's `--security-opt systempaths=unconfined`).
    pub unmask_system_paths: bool,
}

/// Image configuration set by `commit_container`.
#[derive(Debug, Clone, Default)]
pub struct CommitConfig {
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub env: Option<Vec<String>>,
    pub stop_signal: Option<String>,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct NetworkAttachment {
    pub network: String,
    pub ipv4: Option<Ipv4Addr>,
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct PublishedPort {
    pub container_port: u16,
    pub host_ip: String,
    /// 0 lets the engine choose a free port.
    pub host_port: u16,
}

/// What `list_containers` returns about each container.
#[derive(Debug, Clone)]
pub struct ContainerSummary {
    pub id: String,
    pub name: String,
    pub image: String,
    pub state: String,
    pub labels: HashMap<String, String>,
}

/// What `inspect_container` returns.
#[derive(Debug, Clone)]
pub struct ContainerDetails {
    pub id: String,
    pub name: String,
    pub image_id: String,
    pub running: bool,
    pub status: String,
    pub labels: HashMap<String, String>,
    /// Published host ports by container port.
    pub host_ports: HashMap<u16, u16>,
    pub ip_by_network: HashMap<String, String>,
    pub volumes: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ImageDetails {
    pub id: String,
    pub size: i64,
    pub arch: String,
    pub labels: HashMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct NetworkDetails {
    pub id: String,
    pub name: String,
    pub subnets: Vec<String>,
    pub labels: HashMap<String, String>,
    pub containers: Vec<String>,
}

impl Engine {
    /// Connect to the engine named by the environment (see [`endpoint`]) and
    /// read its facts. Fails with a clear message when it cannot be reached.
    pub async fn connect() -> Result<Engine> {
        let endpoint = endpoint::resolve(&endpoint::EndpointInputs::from_process_env())?;
        Self::connect_to(endpoint).await
    }

    pub async fn connect_to(endpoint: Endpoint) -> Result<Engine> {
        let connect_err = |source| EngineError::Connect {
            host: endpoint.host.clone(),
            origin: endpoint.origin.clone(),
            source,
        };
        let docker = match &endpoint.tls_dir {
            Some(dir) => Docker::connect_with_ssl(
                &endpoint.host,
                &dir.join("key.pem"),
                &dir.join("cert.pem"),
                &dir.join("ca.pem"),
                120,
                bollard::API_DEFAULT_VERSION,
            ),
            None => Docker::connect_with_host(&endpoint.host),
        }
        .map_err(connect_err)?;
        // bollard speaks a newer API than old engines (Debian's 20.10 is 1.41).
        let docker = docker.negotiate_version().await.map_err(connect_err)?;
        let version = docker.version().await.map_err(connect_err)?;
        let info = docker.info().await.map_err(connect_err)?;
        let security = info.security_options.clone().unwrap_or_default();
        let info = EngineInfo {
            server_version: version.version.clone().unwrap_or_default(),
            api_version: version.api_version.clone().unwrap_or_default(),
            arch: go_arch(info.architecture.as_deref().unwrap_or("")),
            os_type: info.os_type.clone().unwrap_or_default(),
            cgroup_version: match info.cgroup_version {
                Some(bollard::models::SystemInfoCgroupVersionEnum::_2) => 2,
                _ => 1,
            },
            cgroup_driver: info
                .cgroup_driver
                .map(|d| d.to_string())
                .unwrap_or_default(),
            rootless: security.iter().any(|s| s.contains("rootless")),
            runtimes: info
                .runtimes
                .map(|r| r.into_keys().collect())
                .unwrap_or_default(),
            kernel_version: info.kernel_version.unwrap_or_default(),
        };
        Ok(Engine {
            docker,
            endpoint,
            info,
        })
    }

    pub fn info(&self) -> &EngineInfo {
        &self.info
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    // ---- containers ------------------------------------------------------

    /// Create (not start) a container; returns its id.
    pub async fn create_container(&self, spec: &ContainerSpec) -> Result<String> {
        let mut port_bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
        let mut exposed: HashMap<String, HashMap<(), ()>> = HashMap::new();
        for p in &spec.ports {
            let key = format!("{}/tcp", p.container_port);
            exposed.insert(key.clone(), HashMap::new());
            port_bindings.insert(
                key,
                Some(vec![PortBinding {
                    host_ip: Some(p.host_ip.clone()),
                    host_port: Some(if p.host_port == 0 {
                        String::new()
                    } else {
                        p.host_port.to_string()
                    }),
                }]),
            );
        }
        let host_config = HostConfig {
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
        };
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
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            hostname: spec.hostname.clone(),
            labels: Some(spec.labels.clone().into_iter().collect()),
            env: non_empty(&spec.env),
            entrypoint: spec.entrypoint.clone(),
            cmd: spec.cmd.clone(),
            tty: Some(spec.tty),
            stop_signal: spec.stop_signal.clone(),
            exposed_ports: (!exposed.is_empty()).then(|| exposed.into_keys().collect()),
            host_config: Some(host_config),
            networking_config,
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default()
            .name(&spec.name)
            .build();
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(api(format!("create container {}", spec.name)))?;
        Ok(created.id)
    }

    pub async fn start_container(&self, name: &str) -> Result<()> {
        self.docker
            .start_container(
                name,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
            .map_err(api(format!("start container {name}")))
    }

    /// Stop a container, waiting up to `timeout_secs` before it is killed.
    /// A missing or already stopped container is not an error.
    pub async fn stop_container(&self, name: &str, timeout_secs: i32) -> Result<()> {
        let options = StopContainerOptionsBuilder::default()
            .t(timeout_secs)
            .build();
        match self.docker.stop_container(name, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            Err(e) => Err(api(format!("stop container {name}"))(e)),
        }
    }

    /// Remove a container (killing it if running) with its anonymous volumes.
    /// Removing a container that does not exist succeeds.
    pub async fn remove_container(&self, name: &str) -> Result<()> {
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        match self.docker.remove_container(name, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(api(format!("remove container {name}"))(e)),
        }
    }

    /// Containers (running or not) carrying all the given labels.
    pub async fn list_containers(&self, labels: &[(&str, &str)]) -> Result<Vec<ContainerSummary>> {
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&label_filters(labels))
            .build();
        let list = self
            .docker
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
                state: c.state.map(|s| s.to_string()).unwrap_or_default(),
                labels: c.labels.unwrap_or_default(),
            })
            .collect())
    }

    /// The last `lines` lines a container wrote (stdout and stderr).
    pub async fn log_tail(&self, name: &str, lines: usize) -> Result<String> {
        let options = bollard::query_parameters::LogsOptions {
            stdout: true,
            stderr: true,
            tail: lines.to_string(),
            ..Default::default()
        };
        let chunks: Vec<_> = self
            .docker
            .logs(name, Some(options))
            .try_collect()
            .await
            .map_err(api(format!("logs of container {name}")))?;
        Ok(chunks
            .into_iter()
            .map(|c| String::from_utf8_lossy(&c.into_bytes()).into_owned())
            .collect())
    }

    /// Details of a container, or None when it does not exist.
    pub async fn inspect_container(&self, name: &str) -> Result<Option<ContainerDetails>> {
        let c = match self
            .docker
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
        if let Some(ports) = c.network_settings.as_ref().and_then(|n| n.ports.clone()) {
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
        let ip_by_network = c
            .network_settings
            .and_then(|n| n.networks)
            .unwrap_or_default()
            .into_iter()
            .map(|(net, ep)| (net, ep.ip_address.unwrap_or_default()))
            .collect();
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
            ip_by_network,
            volumes: c
                .mounts
                .unwrap_or_default()
                .into_iter()
                .filter_map(|m| m.name)
                .collect(),
        }))
    }

    /// Unpack a tar archive into `dest_dir` of a container (created or running).
    pub async fn upload_tar(&self, container: &str, dest_dir: &str, tar: Bytes) -> Result<()> {
        let options = UploadToContainerOptionsBuilder::default()
            .path(dest_dir)
            .build();
        self.docker
            .upload_to_container(container, Some(options), bollard::body_full(tar))
            .await
            .map_err(api(format!("copy files into {container}:{dest_dir}")))
    }

    /// Unpack a streamed tar archive into `dest_dir` of a container.
    pub async fn upload_tar_stream<S>(&self, container: &str, dest_dir: &str, tar: S) -> Result<()>
    where
        S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    {
        let options = UploadToContainerOptionsBuilder::default()
            .path(dest_dir)
            .build();
        let body = bollard::body_try_stream(tar);
        self.docker
            .upload_to_container(container, Some(options), body)
            .await
            .map_err(api(format!("copy files into {container}:{dest_dir}")))
    }

    /// Copy host files (name in `dir` → host path) into a container
    /// directory, streamed as one tar.
    pub async fn upload_files(
        &self,
        container: &str,
        dir: &str,
        files: &[(String, std::path::PathBuf)],
    ) -> Result<()> {
        let files = files.to_vec();
        let dir_name = dir.trim_start_matches('/').to_string();
        let (tar, writer) = stream::stream_from_writer(move |out| {
            let mut b = tar::Builder::new(out);
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
            b.append_data(&mut h, format!("{dir_name}/"), std::io::empty())?;
            for (name, path) in &files {
                let f = std::fs::File::open(path)?;
                let mut h = tar::Header::new_gnu();
                h.set_size(f.metadata()?.len());
                h.set_mode(0o755);
                b.append_data(&mut h, format!("{dir_name}/{name}"), f)?;
            }
            b.into_inner()?.flush()
        });
        let uploaded = self.upload_tar_stream(container, "/", tar).await;
        let written = writer.await.expect("tar writer panicked");
        uploaded?;
        written.map_err(|err| EngineError::Api {
            action: format!("copy files into {container}:{dir}"),
            source: bollard::errors::Error::IOError { err },
        })
    }

    /// Write one file into a container, creating its parent directories.
    pub async fn write_file(
        &self,
        container: &str,
        path: &str,
        mode: u32,
        content: &[u8],
    ) -> Result<()> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(mode);
        header.set_mtime(0);
        header.set_cksum();
        builder
            .append_data(&mut header, path.trim_start_matches('/'), content)
            .expect("writing to memory cannot fail");
        let tar = builder.into_inner().expect("writing to memory cannot fail");
        self.upload_tar(container, "/", Bytes::from(tar)).await
    }

    /// A tar stream of `path` inside a container.
    pub fn download(
        &self,
        container: &str,
        path: &str,
    ) -> impl Stream<Item = Result<Bytes>> + Send + use<> {
        let options = bollard::query_parameters::DownloadFromContainerOptionsBuilder::default()
            .path(path)
            .build();
        let action = format!("copy {container}:{path} out");
        self.docker
            .download_from_container(container, Some(options))
            .map_err(move |e| api(action.clone())(e))
    }

    /// Read one regular file from a container.
    pub async fn read_file(&self, container: &str, path: &str) -> Result<Vec<u8>> {
        let tar: Vec<u8> = self
            .download(container, path)
            .try_fold(Vec::new(), |mut acc, chunk| async move {
                acc.extend_from_slice(&chunk);
                Ok(acc)
            })
            .await?;
        let mut archive = tar::Archive::new(tar.as_slice());
        let entries = archive.entries().map_err(|e| EngineError::Api {
            action: format!("read {container}:{path}"),
            source: bollard::errors::Error::IOError { err: e },
        })?;
        for entry in entries {
            let mut entry = entry.map_err(|e| EngineError::Api {
                action: format!("read {container}:{path}"),
                source: bollard::errors::Error::IOError { err: e },
            })?;
            if entry.header().entry_type().is_file() {
                let mut out = Vec::new();
                std::io::Read::read_to_end(&mut entry, &mut out).map_err(|e| EngineError::Api {
                    action: format!("read {container}:{path}"),
                    source: bollard::errors::Error::IOError { err: e },
                })?;
                return Ok(out);
            }
        }
        Ok(Vec::new())
    }

    // ---- networks ----------------------------------------------------------

    pub async fn create_network(
        &self,
        name: &str,
        subnet: &str,
        gateway: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<String> {
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".to_string()),
            ipam: Some(Ipam {
                config: Some(vec![IpamConfig {
                    subnet: Some(subnet.to_string()),
                    gateway: Some(gateway.to_string()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            labels: Some(labels.clone().into_iter().collect()),
            options: Some(HashMap::from([(
                // The nodes talk to each other and the world; keep masquerading on.
                "com.docker.network.bridge.enable_ip_masquerade".to_string(),
                "true".to_string(),
            )])),
            ..Default::default()
        };
        let created = self
            .docker
            .create_network(request)
            .await
            .map_err(api(format!("create network {name} with subnet {subnet}")))?;
        Ok(created.id)
    }

    pub async fn inspect_network(&self, name: &str) -> Result<Option<NetworkDetails>> {
        match self
            .docker
            .inspect_network(
                name,
                None::<bollard::query_parameters::InspectNetworkOptions>,
            )
            .await
        {
            Ok(n) => Ok(Some(NetworkDetails {
                id: n.id.unwrap_or_default(),
                name: n.name.unwrap_or_default(),
                subnets: n
                    .ipam
                    .and_then(|i| i.config)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|c| c.subnet)
                    .collect(),
                labels: n.labels.unwrap_or_default(),
                containers: n
                    .containers
                    .unwrap_or_default()
                    .into_values()
                    .filter_map(|c| c.name)
                    .collect(),
            })),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(api(format!("inspect network {name}"))(e)),
        }
    }

    /// All networks with their subnets (to find overlaps before creating one).
    pub async fn list_networks(&self) -> Result<Vec<NetworkDetails>> {
        let options = ListNetworksOptionsBuilder::default().build();
        let list = self
            .docker
            .list_networks(Some(options))
            .await
            .map_err(api("list networks"))?;
        Ok(list
            .into_iter()
            .map(|n| NetworkDetails {
                id: n.id.unwrap_or_default(),
                name: n.name.unwrap_or_default(),
                subnets: n
                    .ipam
                    .and_then(|i| i.config)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|c| c.subnet)
                    .collect(),
                labels: n.labels.unwrap_or_default(),
                containers: Vec::new(),
            })
            .collect())
    }

    pub async fn remove_network(&self, name: &str) -> Result<()> {
        match self.docker.remove_network(name).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(api(format!("remove network {name}"))(e)),
        }
    }

    // ---- volumes -----------------------------------------------------------

    pub async fn create_volume(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<()> {
        let request = VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(labels.clone().into_iter().collect()),
            ..Default::default()
        };
        self.docker
            .create_volume(request)
            .await
            .map(|_| ())
            .map_err(api(format!("create volume {name}")))
    }

    pub async fn volume_exists(&self, name: &str) -> Result<bool> {
        match self.docker.inspect_volume(name).await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(api(format!("inspect volume {name}"))(e)),
        }
    }

    /// Names of the volumes carrying all the given labels.
    pub async fn list_volumes(&self, labels: &[(&str, &str)]) -> Result<Vec<String>> {
        let options = ListVolumesOptionsBuilder::default()
            .filters(&label_filters(labels))
            .build();
        let list = self
            .docker
            .list_volumes(Some(options))
            .await
            .map_err(api("list volumes"))?;
        Ok(list
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.name)
            .collect())
    }

    pub async fn remove_volume(&self, name: &str) -> Result<()> {
        let options = RemoveVolumeOptionsBuilder::default().force(true).build();
        match self.docker.remove_volume(name, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(api(format!("remove volume {name}"))(e)),
        }
    }

    // ---- images ------------------------------------------------------------

    pub async fn inspect_image(&self, name: &str) -> Result<Option<ImageDetails>> {
        match self.docker.inspect_image(name).await {
            Ok(i) => Ok(Some(ImageDetails {
                id: i.id.unwrap_or_default(),
                size: i.size.unwrap_or_default(),
                arch: i.architecture.unwrap_or_default(),
                labels: i.config.and_then(|c| c.labels).unwrap_or_default(),
            })),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(api(format!("inspect image {name}"))(e)),
        }
    }

    /// References (`repo:tag`) of images carrying all the given labels.
    pub async fn list_images(&self, labels: &[(&str, &str)]) -> Result<Vec<(String, Vec<String>)>> {
        let options = ListImagesOptionsBuilder::default()
            .filters(&label_filters(labels))
            .build();
        let list = self
            .docker
            .list_images(Some(options))
            .await
            .map_err(api("list images"))?;
        Ok(list.into_iter().map(|i| (i.id, i.repo_tags)).collect())
    }

    /// `docker load` a docker-archive tarball, streamed.
    pub async fn load_image<S>(&self, tarball: S) -> Result<()>
    where
        S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    {
        let options = bollard::query_parameters::ImportImageOptionsBuilder::default()
            .quiet(true)
            .build();
        let mut progress = self.docker.import_image_stream(options, tarball, None);
        while let Some(item) = progress.next().await {
            let info = item.map_err(api("load image archive"))?;
            if let Some(detail) = info.error_detail {
                return Err(EngineError::Api {
                    action: "load image archive".to_string(),
                    source: bollard::errors::Error::DockerStreamError {
                        error: detail.message.unwrap_or_default(),
                    },
                });
            }
        }
        Ok(())
    }

    /// A docker-archive stream of the named images (`docker save`).
    pub fn save_images(&self, names: &[&str]) -> impl Stream<Item = Result<Bytes>> + Send + use<> {
        let action = format!("save images {}", names.join(" "));
        self.docker
            .export_images(names)
            .map_err(move |e| api(action.clone())(e))
    }

    /// Pull an image; `on_status` gets the engine's progress lines.
    pub async fn pull_image(&self, reference: &str, mut on_status: impl FnMut(&str)) -> Result<()> {
        let (repo, tag) = split_reference(reference);
        let options = CreateImageOptionsBuilder::default()
            .from_image(repo)
            .tag(tag)
            .build();
        let mut stream = self.docker.create_image(Some(options), None, None);
        while let Some(item) = stream.next().await {
            let info = item.map_err(api(format!("pull image {reference}")))?;
            if let Some(status) = info.status {
                on_status(&status);
            }
        }
        Ok(())
    }

    /// `docker commit`; returns the new image id. Fields set in `config`
    /// replace the container's; the engine fills the rest from it.
    pub async fn commit_container(
        &self,
        container: &str,
        reference: &str,
        config: &CommitConfig,
    ) -> Result<String> {
        let (repo, tag) = split_reference(reference);
        let options = CommitContainerOptionsBuilder::default()
            .container(container)
            .repo(repo)
            .tag(tag)
            .pause(true)
            .build();
        let body = bollard::models::ContainerConfig {
            labels: Some(config.labels.clone().into_iter().collect()),
            entrypoint: config.entrypoint.clone(),
            cmd: config.cmd.clone(),
            env: config.env.clone(),
            stop_signal: config.stop_signal.clone(),
            ..Default::default()
        };
        let id = self
            .docker
            .commit_container(options, body)
            .await
            .map_err(api(format!("commit container {container} as {reference}")))?;
        Ok(id.id)
    }

    /// Remove an image reference; a missing image is not an error.
    pub async fn remove_image(&self, reference: &str) -> Result<()> {
        self.remove_image_with(reference, true).await
    }

    /// Remove an image unless a container (even a stopped one) or another
    /// image is made from it; that refusal is a conflict ([`EngineError::is_conflict`]).
    pub async fn remove_image_if_unused(&self, reference: &str) -> Result<()> {
        self.remove_image_with(reference, false).await
    }

    async fn remove_image_with(&self, reference: &str, force: bool) -> Result<()> {
        let options = RemoveImageOptionsBuilder::default().force(force).build();
        match self
            .docker
            .remove_image(reference, Some(options), None)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(api(format!("remove image {reference}"))(e)),
        }
    }
}

fn non_empty(v: &[String]) -> Option<Vec<String>> {
    (!v.is_empty()).then(|| v.to_vec())
}

fn label_filters(labels: &[(&str, &str)]) -> HashMap<String, Vec<String>> {
    let values = labels
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                k.to_string()
            } else {
                format!("{k}={v}")
            }
        })
        .collect();
    HashMap::from([("label".to_string(), values)])
}

/// Split `repo[:tag]` (the repo may contain a registry port) into repo and tag.
pub fn split_reference(reference: &str) -> (&str, &str) {
    match reference.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (reference, "latest"),
    }
}

/// Docker reports `x86_64`/`aarch64`; Kubernetes and Go say `amd64`/`arm64`.
pub fn go_arch(machine: &str) -> String {
    match machine {
        "x86_64" | "amd64" => "amd64",
        "aarch64" | "arm64" => "arm64",
        "armv7l" | "armv6l" | "arm" => "arm",
        "ppc64le" => "ppc64le",
        "s390x" => "s390x",
        other => other,
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_at_the_tag_not_the_registry_port() {
        assert_eq!(
            split_reference("registry.k8s.io/pause:3.10.2"),
            ("registry.k8s.io/pause", "3.10.2")
        );
        assert_eq!(
            split_reference("localhost:5000/etcd"),
            ("localhost:5000/etcd", "latest")
        );
        assert_eq!(
            split_reference("localhost:5000/etcd:3.7.0-0"),
            ("localhost:5000/etcd", "3.7.0-0")
        );
    }

    #[test]
    fn machine_names_map_to_go_arches() {
        assert_eq!(go_arch("x86_64"), "amd64");
        assert_eq!(go_arch("aarch64"), "arm64");
        assert_eq!(go_arch("s390x"), "s390x");
    }
}
