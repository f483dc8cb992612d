//! Connecting: the transport the endpoint asks for (local socket, TCP, TLS
//! or ssh), a first exchange bounded in time, and the engine's facts. A
//! failure says which engine, how it was tried and what to check.

use std::time::Duration;

use super::Docker;
use crate::engine::endpoint::{self, Endpoint};
use crate::engine::ssh::{self, SshConnector, SshTarget};
use crate::engine::{BoxError, EngineError, EngineInfo, ImageStore, Product, Result};

/// The oldest Engine API the node containers can be made with (private
/// cgroup namespaces came in 1.41, Docker 20.10).
const MIN_API: (u32, u32) = (1, 41);

/// How long the engine has to answer its first request: a host that drops
/// packets would otherwise hold us for the client's two-minute timeout.
const FIRST_ANSWER: Duration = Duration::from_secs(40);

/// A client for the endpoint, not yet used.
struct Transport {
    api: std::result::Result<bollard::Docker, bollard::errors::Error>,
    /// For ssh: the command line each connection runs, and its connector.
    ssh: Option<(String, SshConnector)>,
    /// How it is tried and what to check, for errors.
    hint: String,
}

impl Docker {
    /// Connect to the engine named by the environment (see [`endpoint`]) and
    /// read its facts. Fails with a clear message when it cannot be reached.
    pub async fn connect() -> Result<Docker> {
        Self::connect_with(&[]).await
    }

    /// As [`Docker::connect`], with options for the ssh of an `ssh://` engine.
    pub async fn connect_with(ssh_options: &[String]) -> Result<Docker> {
        let endpoint = endpoint::resolve(&endpoint::EndpointInputs::from_process_env())?;
        Self::connect_to(endpoint, ssh_options).await
    }

    pub async fn connect_to(mut endpoint: Endpoint, ssh_options: &[String]) -> Result<Docker> {
        let transport = open(&mut endpoint, ssh_options).await?;
        let connect_err = |hint: String, source: BoxError| EngineError::Connect {
            engine: endpoint.describe(),
            hint,
            source,
        };
        let api = transport
            .api
            .map_err(|e| connect_err(transport.hint.clone(), Box::new(e)))?;
        let first = async {
            // bollard speaks a newer API than old engines (Debian's 20.10 is 1.41).
            let api = api.negotiate_version().await?;
            let version = api.version().await?;
            Ok::<_, bollard::errors::Error>((api, version))
        };
        let (api, version) = match tokio::time::timeout(FIRST_ANSWER, first).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                let said = match &transport.ssh {
                    Some((_, connector)) => ssh_reason(connector).await,
                    None => String::new(),
                };
                return Err(connect_err(
                    format!("{}{said}", transport.hint),
                    Box::new(e),
                ));
            }
            Err(_) => {
                let late = format!("no answer within {} s", FIRST_ANSWER.as_secs());
                return Err(connect_err(transport.hint, late.into()));
            }
        };
        let api_version = version.api_version.clone().unwrap_or_default();
        if api_older_than(&api_version, MIN_API) {
            return Err(EngineError::TooOld {
                host: endpoint.host.clone(),
                version: version.version.clone().unwrap_or_default(),
                api: api_version,
            });
        }
        let info = api
            .info()
            .await
            .map_err(|e| connect_err(transport.hint.clone(), Box::new(e)))?;
        let info = engine_info(version, info);
        Ok(Docker {
            api,
            endpoint,
            info,
        })
    }
}

/// The client for the endpoint's kind of address. For ssh, the host name
/// ssh really reaches is recorded in the endpoint (ports are published there).
async fn open(endpoint: &mut Endpoint, ssh_options: &[String]) -> Result<Transport> {
    if endpoint.is_ssh() {
        let target = SshTarget::parse(&endpoint.host).map_err(|e| EngineError::BadAddress {
            origin: endpoint.origin.clone(),
            reason: e.to_string(),
        })?;
        endpoint.ssh_hostname = Some(target.resolved_hostname(ssh_options).await);
        let connector = SshConnector::new(&target, ssh_options);
        let command = target.dial_command(ssh_options);
        return Ok(Transport {
            api: ssh::client(connector.clone()),
            hint: format!(" through `{command}`"),
            ssh: Some((command, connector)),
        });
    }
    if let Some(dir) = &endpoint.tls_dir {
        check_tls_files(endpoint, dir)?;
        return Ok(Transport {
            api: bollard::Docker::connect_with_ssl(
                &endpoint.host,
                &dir.join("key.pem"),
                &dir.join("cert.pem"),
                &dir.join("ca.pem"),
                120,
                bollard::API_DEFAULT_VERSION,
            ),
            ssh: None,
            hint: format!(
                " over TLS with ca.pem, cert.pem and key.pem from {}; do they belong to this engine?",
                dir.display()
            ),
        });
    }
    let hint = match endpoint.host.strip_prefix("unix://") {
        _ if endpoint.host.starts_with("tcp://") => "; is dockerd listening there? (an engine \
            with TLS needs DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH)"
            .to_string(),
        Some(socket) => socket_hint(std::path::Path::new(socket)),
        None => "; is dockerd running?".to_string(),
    };
    // Plain TCP without bollard's own reading of DOCKER_TLS_VERIFY, which
    // takes any value (even 0) for TLS: the endpoint has decided already.
    let api = if endpoint.host.starts_with("tcp://") {
        bollard::Docker::connect_with_http(&endpoint.host, 120, bollard::API_DEFAULT_VERSION)
    } else {
        bollard::Docker::connect_with_host(&endpoint.host)
    };
    Ok(Transport {
        api,
        ssh: None,
        hint,
    })
}

/// What to check when the engine's socket does not answer: whether it is
/// there at all, and whether this user may use it.
fn socket_hint(socket: &std::path::Path) -> String {
    use nix::unistd::{access, AccessFlags};
    if !socket.exists() {
        return format!(
            "; is dockerd running? ({} does not exist)",
            socket.display()
        );
    }
    match access(socket, AccessFlags::R_OK | AccessFlags::W_OK) {
        Err(nix::errno::Errno::EACCES) => format!(
            "; this user may not use {}: add it to the `docker` group (`sudo usermod -aG docker \
             $USER`, then log in again) or run as root",
            socket.display()
        ),
        _ => "; is dockerd running?".to_string(),
    }
}

/// Podman's service names itself among the version's components.
fn product(version: &bollard::models::SystemVersion) -> Product {
    let podman = version
        .components
        .iter()
        .flatten()
        .any(|c| c.name.to_ascii_lowercase().contains("podman"));
    if podman {
        Product::Podman
    } else {
        Product::Docker
    }
}

/// Docker's containerd image store reports its snapshotter as the driver,
/// with `driver-type io.containerd.snapshotter.v1` in the driver's status.
fn image_store(info: &bollard::models::SystemInfo) -> ImageStore {
    let driver = info.driver.clone().unwrap_or_default();
    let snapshotter = info.driver_status.iter().flatten().any(|pair| {
        pair.first().map(String::as_str) == Some("driver-type")
            && pair
                .get(1)
                .is_some_and(|v| v.starts_with("io.containerd.snapshotter"))
    });
    if snapshotter {
        ImageStore::Containerd {
            snapshotter: driver,
        }
    } else {
        ImageStore::Classic { driver }
    }
}

fn engine_info(
    version: bollard::models::SystemVersion,
    info: bollard::models::SystemInfo,
) -> EngineInfo {
    let security = info.security_options.clone().unwrap_or_default();
    let (product, image_store) = (product(&version), image_store(&info));
    EngineInfo {
        product,
        image_store,
        id: info.id.clone().unwrap_or_default(),
        server_version: version.version.unwrap_or_default(),
        api_version: version.api_version.unwrap_or_default(),
        arch: crate::engine::go_arch(info.architecture.as_deref().unwrap_or("")),
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
        data_root: info.docker_root_dir.unwrap_or_default(),
    }
}

/// What ssh said when the connection failed: its stderr may come in a
/// moment after the connection closed.
async fn ssh_reason(connector: &SshConnector) -> String {
    for _ in 0..40 {
        let said = connector.last_stderr();
        if !said.is_empty() {
            return format!(": ssh said: {said}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    String::new()
}

/// The client certificate files must all be there; bollard's own error for
/// a missing one does not say which.
fn check_tls_files(endpoint: &Endpoint, dir: &std::path::Path) -> Result<()> {
    let missing: Vec<&str> = ["ca.pem", "cert.pem", "key.pem"]
        .into_iter()
        .filter(|f| !dir.join(f).is_file())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(EngineError::TlsFiles {
        engine: endpoint.describe(),
        dir: dir.display().to_string(),
        missing: missing.join(", "),
    })
}

/// `1.40` < (1, 41); an unreadable version is not called old.
fn api_older_than(api: &str, min: (u32, u32)) -> bool {
    let mut parts = api.split('.').map(|p| p.parse::<u32>());
    match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor) < min,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_compare_as_numbers() {
        assert!(api_older_than("1.40", MIN_API));
        assert!(api_older_than("1.9", MIN_API));
        assert!(!api_older_than("1.41", MIN_API));
        assert!(!api_older_than("1.100", MIN_API));
        assert!(!api_older_than("", MIN_API));
    }

    #[test]
    fn the_image_store_and_product_are_read_from_info_and_version() {
        use bollard::models::{SystemInfo, SystemVersion, SystemVersionComponents};
        let pair = |k: &str, v: &str| vec![k.to_string(), v.to_string()];
        let classic = SystemInfo {
            driver: Some("overlay2".into()),
            driver_status: Some(vec![pair("Backing Filesystem", "extfs")]),
            ..Default::default()
        };
        assert_eq!(
            image_store(&classic),
            ImageStore::Classic {
                driver: "overlay2".into()
            }
        );
        // Docker with the containerd image store (`docker info`: "Storage
        // Driver: overlayfs, driver-type: io.containerd.snapshotter.v1").
        let containerd = SystemInfo {
            driver: Some("overlayfs".into()),
            driver_status: Some(vec![pair("driver-type", "io.containerd.snapshotter.v1")]),
            ..Default::default()
        };
        assert_eq!(
            image_store(&containerd).to_string(),
            "containerd image store, overlayfs"
        );
        assert_eq!(
            image_store(&SystemInfo::default()).to_string(),
            "classic image store"
        );

        let component = |name: &str| SystemVersionComponents {
            name: name.into(),
            version: "1".into(),
            details: None,
        };
        let docker = SystemVersion {
            components: Some(vec![component("Engine"), component("containerd")]),
            ..Default::default()
        };
        assert_eq!(product(&docker), Product::Docker);
        assert_eq!(product(&SystemVersion::default()), Product::Docker);
        let podman = SystemVersion {
            components: Some(vec![component("Podman Engine")]),
            ..Default::default()
        };
        assert_eq!(product(&podman).to_string(), "Podman");
    }

    #[test]
    fn missing_certificate_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cert.pem"), "x").unwrap();
        let mut endpoint = endpoint::local();
        endpoint.host = "tcp://h:2376".into();
        endpoint.origin = "DOCKER_HOST".into();
        let err = check_tls_files(&endpoint, dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("at tcp://h:2376 (from DOCKER_HOST)")
                && err.ends_with("missing: ca.pem, key.pem"),
            "{err}"
        );
    }
}
