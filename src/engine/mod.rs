//! The container engine, as the rest of the tool sees it: containers,
//! files in containers, commands in containers, networks, volumes and images.
//!
//! [`Engine`] is the sum of one trait per kind of object. [`Docker`] implements
//! it over the Docker Engine API (bollard), one file per kind; tests use an
//! in-memory fake (`fake`) that keeps containers, volumes, images and labels
//! and answers commands from a script. Lifecycle code is generic over
//! `E: Engine`, so its decisions are tested without a daemon.
//!
//! Errors name the object and the operation; a failed command run in a node
//! carries its output.

pub mod docker;
pub mod endpoint;
pub mod exec;
#[cfg(test)]
pub mod fake;
pub mod space;
pub mod ssh;
pub mod stream;
pub mod temporary;
mod types;

use std::future::Future;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};

pub use docker::Docker;
pub use endpoint::Endpoint;
pub use exec::{ExecError, ExecOutput, ExecRequest};
pub use types::*;

/// A boxed error from below the engine layer (the API client, a socket).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Bytes sent to the engine (an image archive, a tar of files).
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// What kind of refusal an API error is, where callers act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiErrorKind {
    /// The object is in use (HTTP 409), e.g. an image other images are made from.
    Conflict,
    /// A published host port is taken by another program.
    PortInUse,
    /// The engine's disk (its data root) is full.
    NoSpace,
    Other,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Endpoint(#[from] endpoint::EndpointError),
    /// `engine` is its address and where that came from: `tcp://h:2376 (from DOCKER_HOST)`.
    #[error("cannot reach the Docker engine at {engine}{hint}")]
    Connect {
        engine: String,
        /// How it was tried and what to check, starting with a separator.
        hint: String,
        #[source]
        source: BoxError,
    },
    #[error("the Docker engine address from {origin} is not usable: {reason}")]
    BadAddress { origin: String, reason: String },
    #[error("TLS for the Docker engine at {engine} needs ca.pem, cert.pem and key.pem in {dir} (DOCKER_CERT_PATH, or the context's TLS directory); missing: {missing}")]
    TlsFiles {
        engine: String,
        dir: String,
        missing: String,
    },
    #[error("the Docker engine at {host} is Docker {version} (API {api}); local-cluster needs API 1.41 (Docker 20.10) or newer")]
    TooOld {
        host: String,
        version: String,
        api: String,
    },
    #[error("Docker engine: {action}")]
    Api {
        action: String,
        kind: ApiErrorKind,
        #[source]
        source: BoxError,
    },
    /// The runtime could not give a container its resource limits: Podman's
    /// defaults (1048576 open files, 4194304 processes) exceed what a root
    /// without CAP_SYS_RESOURCE may set.
    #[error(
        "Docker engine: {action}: the engine could not give the container its resource limits \
         (ulimits); Podman's defaults (1048576 open files, 4194304 processes) are more than \
         root may set where it lacks CAP_SYS_RESOURCE: set `default_ulimits = [\"nofile=N:N\", \
         \"nproc=M:M\"]` under [containers] in containers.conf, N and M at most `ulimit -Hn` and \
         `ulimit -Hu` on the engine's machine"
    )]
    Ulimits {
        action: String,
        #[source]
        source: BoxError,
    },
    /// The engine pushed over HTTPS to a plain-HTTP registry: Docker takes
    /// loopback registries as insecure by itself, Podman only when told.
    #[error(
        "Docker engine: {action}: the engine spoke HTTPS to the registry {registry}, which \
         serves plain HTTP on loopback; Podman needs it marked insecure: add `[[registry]]` \
         with `location = \"{registry}\"` and `insecure = true` to registries.conf \
         (/etc/containers/registries.conf, or the file CONTAINERS_REGISTRIES_CONF names for \
         the service) and restart `podman system service`"
    )]
    InsecureRegistry {
        action: String,
        registry: String,
        #[source]
        source: BoxError,
    },
    #[error(transparent)]
    Exec(#[from] ExecError),
    /// A tar archive to or from a container could not be made or read.
    #[error("{action}")]
    Archive {
        action: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

impl EngineError {
    pub fn kind(&self) -> ApiErrorKind {
        match self {
            EngineError::Api { kind, .. } => *kind,
            _ => ApiErrorKind::Other,
        }
    }

    pub fn is_conflict(&self) -> bool {
        self.kind() == ApiErrorKind::Conflict
    }

    pub fn is_port_in_use(&self) -> bool {
        self.kind() == ApiErrorKind::PortInUse
    }

    pub fn is_no_space(&self) -> bool {
        self.kind() == ApiErrorKind::NoSpace
    }
}

/// `the Docker engine at … ran out of space (its data root …)`, for the
/// errors of writes the engine could not make.
pub fn ran_out_of_space<E: Engine>(engine: &E) -> String {
    let data_root = &engine.info().data_root;
    format!(
        "the Docker engine at {} ran out of space (its data root{})",
        engine.endpoint().describe(),
        if data_root.is_empty() {
            String::new()
        } else {
            format!(" {data_root}")
        }
    )
}

/// Containers: the node containers and short-lived helpers.
pub trait Containers: Send + Sync {
    /// Create (not start) a container; returns its id.
    fn create_container(&self, spec: &ContainerSpec)
        -> impl Future<Output = Result<String>> + Send;
    fn start_container(&self, name: &str) -> impl Future<Output = Result<()>> + Send;
    /// Stop a container, waiting up to `timeout_secs` before it is killed.
    /// A missing or already stopped container is not an error.
    fn stop_container(
        &self,
        name: &str,
        timeout_secs: i32,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Kill a container at once (SIGKILL to every process in it, no grace
    /// period). A missing or already stopped container is not an error.
    fn kill_container(&self, name: &str) -> impl Future<Output = Result<()>> + Send;
    /// Freeze every process of a running container (the cgroup freezer).
    fn pause_container(&self, name: &str) -> impl Future<Output = Result<()>> + Send;
    /// Thaw a paused container.
    fn unpause_container(&self, name: &str) -> impl Future<Output = Result<()>> + Send;
    /// Remove a container (killing it if running) with its anonymous
    /// volumes. Removing a container that does not exist succeeds.
    fn remove_container(&self, name: &str) -> impl Future<Output = Result<()>> + Send;
    /// Containers (running or not) carrying all the given labels.
    fn list_containers(
        &self,
        labels: &Labels<'_>,
    ) -> impl Future<Output = Result<Vec<ContainerSummary>>> + Send;
    /// Details of a container, or None when it does not exist.
    fn inspect_container(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<ContainerDetails>>> + Send;
    /// The last `lines` lines a container wrote (stdout and stderr).
    fn log_tail(&self, name: &str, lines: usize) -> impl Future<Output = Result<String>> + Send;
    /// `docker commit`; returns the new image id. `config` replaces the
    /// container's runtime configuration in the image.
    fn commit_container(
        &self,
        container: &str,
        reference: &str,
        config: &ImageConfig,
    ) -> impl Future<Output = Result<String>> + Send;
}

/// Files in containers, moved as tar archives.
pub trait Files: Send + Sync {
    /// Unpack a tar stream into `dest_dir` of a container (created or running).
    fn upload_tar(
        &self,
        container: &str,
        dest_dir: &str,
        tar: ByteStream,
    ) -> impl Future<Output = Result<()>> + Send;

    /// A tar archive of `path` inside a container.
    fn download_tar(
        &self,
        container: &str,
        path: &str,
    ) -> impl Future<Output = Result<Vec<u8>>> + Send;

    /// Write one file into a container, creating its parent directories.
    fn write_file(
        &self,
        container: &str,
        path: &str,
        mode: u32,
        content: &[u8],
    ) -> impl Future<Output = Result<()>> + Send {
        async move {
            let tar =
                single_file_tar(path, mode, content).map_err(|source| EngineError::Archive {
                    action: format!("pack {path} for {container}"),
                    source,
                })?;
            let body = futures_util::stream::once(async move { Ok(Bytes::from(tar)) }).boxed();
            self.upload_tar(container, "/", body).await
        }
    }

    /// Read one regular file from a container.
    fn read_file(
        &self,
        container: &str,
        path: &str,
    ) -> impl Future<Output = Result<Vec<u8>>> + Send {
        async move {
            let tar = self.download_tar(container, path).await?;
            first_file_in_tar(&tar).map_err(|source| EngineError::Archive {
                action: format!("read {container}:{path}"),
                source,
            })
        }
    }

    /// Copy host files (name in `dir` → host path) into a container
    /// directory, streamed as one tar.
    fn upload_files(
        &self,
        container: &str,
        dir: &str,
        files: &[(String, std::path::PathBuf)],
    ) -> impl Future<Output = Result<()>> + Send {
        async move {
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
            let uploaded = self.upload_tar(container, "/", tar.boxed()).await;
            let written = writer.await.expect("tar writer panicked");
            uploaded?;
            written.map_err(|source| EngineError::Archive {
                action: format!("copy files into {container}:{dir}"),
                source,
            })
        }
    }
}

/// Commands run inside containers.
pub trait Exec: Send + Sync {
    /// Run a command and return its output whatever the exit code.
    fn exec(
        &self,
        container: &str,
        argv: &[&str],
        request: ExecRequest<'_>,
    ) -> impl Future<Output = Result<ExecOutput>> + Send;

    /// Run a command; a non-zero exit is an [`ExecError`] with its output.
    fn run_with(
        &self,
        container: &str,
        argv: &[&str],
        request: ExecRequest<'_>,
    ) -> impl Future<Output = Result<ExecOutput>> + Send {
        async move {
            let out = self.exec(container, argv, request).await?;
            if out.exit_code != 0 {
                return Err(ExecError {
                    container: container.to_string(),
                    command: argv.join(" "),
                    exit_code: out.exit_code,
                    output: out.combined(),
                }
                .into());
            }
            Ok(out)
        }
    }

    /// Run a command; fails on a non-zero exit.
    fn run(
        &self,
        container: &str,
        argv: &[&str],
    ) -> impl Future<Output = Result<ExecOutput>> + Send {
        self.run_with(container, argv, ExecRequest::default())
    }

    /// Run `sh -c script` and return its stdout as text; fails on a non-zero exit.
    fn sh(&self, container: &str, script: &str) -> impl Future<Output = Result<String>> + Send {
        async move {
            Ok(self
                .run(container, &["sh", "-c", script])
                .await?
                .stdout_text())
        }
    }
}

pub trait Networks: Send + Sync {
    fn create_network(&self, spec: &NetworkSpec) -> impl Future<Output = Result<String>> + Send;
    fn inspect_network(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<NetworkDetails>>> + Send;
    /// All networks with their subnets (to find overlaps before creating one).
    fn list_networks(&self) -> impl Future<Output = Result<Vec<NetworkDetails>>> + Send;
    /// Removing a network that does not exist succeeds.
    fn remove_network(&self, name: &str) -> impl Future<Output = Result<()>> + Send;
}

pub trait Volumes: Send + Sync {
    fn create_volume(
        &self,
        name: &str,
        labels: &std::collections::BTreeMap<String, String>,
    ) -> impl Future<Output = Result<()>> + Send;
    fn volume_exists(&self, name: &str) -> impl Future<Output = Result<bool>> + Send;
    /// Names of the volumes carrying all the given labels.
    fn list_volumes(&self, labels: &Labels<'_>)
        -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Removing a volume that does not exist succeeds.
    fn remove_volume(&self, name: &str) -> impl Future<Output = Result<()>> + Send;
}

pub trait Images: Send + Sync {
    fn inspect_image(
        &self,
        reference: &str,
    ) -> impl Future<Output = Result<Option<ImageDetails>>> + Send;
    /// Images carrying all the given labels.
    fn list_images(
        &self,
        labels: &Labels<'_>,
    ) -> impl Future<Output = Result<Vec<ImageSummary>>> + Send;
    /// `docker load` a docker-archive tarball, streamed.
    fn load_image(&self, archive: ByteStream) -> impl Future<Output = Result<()>> + Send;
    /// A docker-archive stream of the named images (`docker save`).
    fn save_images(&self, names: &[&str]) -> BoxStream<'static, Result<Bytes>>;
    /// Pull an image; `on_status` gets the engine's progress lines.
    fn pull_image(
        &self,
        reference: &str,
        on_status: &mut (dyn FnMut(&str) + Send),
    ) -> impl Future<Output = Result<()>> + Send;
    /// Give an image another reference (`docker tag`).
    fn tag_image(&self, source: &str, target: &str) -> impl Future<Output = Result<()>> + Send;
    /// Push an image to the registry its reference names (`docker push`),
    /// without credentials; `on_status` gets the engine's progress lines.
    fn push_image(
        &self,
        reference: &str,
        on_status: &mut (dyn FnMut(&str) + Send),
    ) -> impl Future<Output = Result<()>> + Send;
    /// Remove an image reference; a missing image is not an error.
    fn remove_image(
        &self,
        reference: &str,
        how: RemoveImage,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Everything the tool asks of a container engine.
pub trait Engine: Containers + Files + Exec + Networks + Volumes + Images {
    fn info(&self) -> &EngineInfo;
    fn endpoint(&self) -> &Endpoint;
}

/// Write a `save_images` stream to a file.
pub async fn save_images_to<E: Images>(
    engine: &E,
    names: &[&str],
    path: &std::path::Path,
) -> Result<()> {
    use tokio::io::AsyncWriteExt;
    let io = |source| EngineError::Archive {
        action: format!("write {}", path.display()),
        source,
    };
    let mut file = tokio::fs::File::create(path).await.map_err(io)?;
    let mut stream = engine.save_images(names);
    while let Some(chunk) = stream.try_next().await? {
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)
}

/// A tar holding one file at `path` (parents are created on unpacking).
fn single_file_tar(path: &str, mode: u32, content: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(mode);
    header.set_mtime(0);
    header.set_cksum();
    builder.append_data(&mut header, path.trim_start_matches('/'), content)?;
    builder.into_inner()
}

/// The content of the first regular file in a tar (what the engine sends
/// when asked for one file). An archive with no file holds an empty one.
fn first_file_in_tar(tar: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries()? {
        let mut entry = entry?;
        if entry.header().entry_type().is_file() {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut out)?;
            return Ok(out);
        }
    }
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_round_trips_through_a_tar_unchanged() {
        let content: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        let tar = single_file_tar("/etc/x/y.bin", 0o600, &content).unwrap();
        assert_eq!(first_file_in_tar(&tar).unwrap(), content);
    }
}
