//! Which Docker engine to talk to: `DOCKER_HOST`, a Docker CLI context
//! (`DOCKER_CONTEXT` or the config's `currentContext`), or the local socket.
//!
//! bollard understands `DOCKER_HOST` but not contexts, so we resolve contexts
//! here the way the Docker CLI does: the context's metadata lives in
//! `~/.docker/contexts/meta/<sha256 of its name>/meta.json` and its TLS
//! material under `~/.docker/contexts/tls/<sha256>/docker/`.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Where the engine is and how we found out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `unix:///var/run/docker.sock`, `tcp://host:2376`, `ssh://user@host`, ...
    pub host: String,
    /// Client certificate directory (ca.pem, cert.pem, key.pem) for TLS.
    pub tls_dir: Option<PathBuf>,
    /// Human-readable origin: `DOCKER_HOST`, `context "remote"`, `default socket`.
    pub origin: String,
    /// For `ssh://` engines: the host name ssh really connects to (the URL
    /// may name an alias of the user's ssh config).
    pub ssh_hostname: Option<String>,
}

impl Endpoint {
    /// The address published ports are reachable on from this machine: the
    /// engine's host for remote engines, loopback for local ones.
    pub fn published_address(&self) -> String {
        self.remote_host()
            .unwrap_or_else(|| "127.0.0.1".to_string())
    }

    pub fn is_remote(&self) -> bool {
        self.remote_host().is_some()
    }

    /// The host address ports are published on, on the engine's side: the
    /// remote host's own address when it is given as one (nothing else on
    /// that machine sees them), all addresses for a host name, loopback for
    /// a local engine.
    pub fn bind_address(&self) -> String {
        match self.remote_host() {
            None => "127.0.0.1".to_string(),
            Some(h) if h.parse::<std::net::IpAddr>().is_ok() => h,
            Some(_) => "0.0.0.0".to_string(),
        }
    }

    fn remote_host(&self) -> Option<String> {
        match &self.ssh_hostname {
            // Bracketed, so an IPv6 address is not cut at its colons.
            Some(h) => remote_hostname(&format!("ssh://[{h}]")),
            None => remote_hostname(&self.host),
        }
    }

    /// `tcp://h:2376 (from DOCKER_HOST)`, for messages.
    pub fn describe(&self) -> String {
        format!("{} (from {})", self.host, self.origin)
    }

    /// Whether this is an `ssh://` engine.
    pub fn is_ssh(&self) -> bool {
        self.host.starts_with("ssh://")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("Docker context {name:?} (from {origin}) was not found: no {path}")]
    UnknownContext {
        name: String,
        origin: String,
        path: String,
    },
    #[error("cannot read Docker context metadata {path}")]
    BadContext {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("Docker context metadata {path} has no docker endpoint host")]
    NoDockerHost { path: String },
}

/// The variables and files endpoint resolution looks at, injectable for tests.
#[derive(Debug, Clone, Default)]
pub struct EndpointInputs {
    pub docker_host: Option<String>,
    pub docker_context: Option<String>,
    pub docker_tls_verify: bool,
    pub docker_cert_path: Option<String>,
    /// `$DOCKER_CONFIG` or `~/.docker`.
    pub docker_config_dir: PathBuf,
}

impl EndpointInputs {
    pub fn from_process_env() -> EndpointInputs {
        fn var(name: &str) -> Option<String> {
            std::env::var(name).ok().filter(|v| !v.is_empty())
        }
        let docker_config_dir = std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| dirs::home_dir().map(|h| h.join(".docker")))
            .unwrap_or_else(|| PathBuf::from(".docker"));
        EndpointInputs {
            docker_host: var("DOCKER_HOST"),
            docker_context: var("DOCKER_CONTEXT"),
            docker_tls_verify: var("DOCKER_TLS_VERIFY").is_some_and(|v| v != "0"),
            docker_cert_path: var("DOCKER_CERT_PATH"),
            docker_config_dir,
        }
    }
}

pub const DEFAULT_SOCKET: &str = "unix:///var/run/docker.sock";

/// Resolve the endpoint with the Docker CLI's precedence:
/// `DOCKER_HOST` > `DOCKER_CONTEXT` > `currentContext` in config.json > default socket.
pub fn resolve(inputs: &EndpointInputs) -> Result<Endpoint, EndpointError> {
    if let Some(host) = &inputs.docker_host {
        let tls_dir = inputs.docker_tls_verify.then(|| {
            inputs
                .docker_cert_path
                .as_ref()
                .map(PathBuf::from)
                .unwrap_or_else(|| inputs.docker_config_dir.clone())
        });
        return Ok(Endpoint {
            host: host.to_string(),
            tls_dir,
            origin: "DOCKER_HOST".to_string(),
            ssh_hostname: None,
        });
    }
    let (name, origin) = match &inputs.docker_context {
        Some(name) => (name.clone(), "DOCKER_CONTEXT".to_string()),
        None => match current_context(&inputs.docker_config_dir) {
            Some(name) => (
                name,
                format!(
                    "currentContext in {}",
                    inputs.docker_config_dir.join("config.json").display()
                ),
            ),
            None => (String::from("default"), String::new()),
        },
    };
    if name == "default" {
        return Ok(local());
    }
    context_endpoint(&inputs.docker_config_dir, &name, &origin)
}

/// The engine on this machine: the default socket.
pub fn local() -> Endpoint {
    Endpoint {
        host: DEFAULT_SOCKET.to_string(),
        tls_dir: None,
        origin: "default socket".to_string(),
        ssh_hostname: None,
    }
}

fn current_context(config_dir: &Path) -> Option<String> {
    #[derive(Deserialize)]
    struct CliConfig {
        #[serde(rename = "currentContext")]
        current_context: Option<String>,
    }
    let text = std::fs::read_to_string(config_dir.join("config.json")).ok()?;
    let config: CliConfig = serde_json::from_str(&text).ok()?;
    config.current_context.filter(|c| !c.is_empty())
}

fn context_endpoint(
    config_dir: &Path,
    name: &str,
    origin: &str,
) -> Result<Endpoint, EndpointError> {
    #[derive(Deserialize)]
    struct Meta {
        #[serde(rename = "Endpoints")]
        endpoints: std::collections::HashMap<String, MetaEndpoint>,
    }
    #[derive(Deserialize)]
    struct MetaEndpoint {
        #[serde(rename = "Host")]
        host: Option<String>,
        #[serde(rename = "SkipTLSVerify", default)]
        _skip_tls_verify: bool,
    }
    let digest = hex::encode(Sha256::digest(name.as_bytes()));
    let meta_path = config_dir
        .join("contexts")
        .join("meta")
        .join(&digest)
        .join("meta.json");
    let text = std::fs::read_to_string(&meta_path).map_err(|_| EndpointError::UnknownContext {
        name: name.to_string(),
        origin: origin.to_string(),
        path: meta_path.display().to_string(),
    })?;
    let meta: Meta = serde_json::from_str(&text).map_err(|source| EndpointError::BadContext {
        path: meta_path.display().to_string(),
        source,
    })?;
    let host = meta
        .endpoints
        .get("docker")
        .and_then(|e| e.host.clone())
        .ok_or_else(|| EndpointError::NoDockerHost {
            path: meta_path.display().to_string(),
        })?;
    let tls_dir = config_dir
        .join("contexts")
        .join("tls")
        .join(&digest)
        .join("docker");
    Ok(Endpoint {
        host,
        tls_dir: tls_dir.join("ca.pem").exists().then_some(tls_dir),
        origin: format!("context {name:?} ({origin})"),
        ssh_hostname: None,
    })
}

/// The host name of a remote engine URL, or None for local sockets and loopback.
fn remote_hostname(host: &str) -> Option<String> {
    let rest = ["tcp://", "http://", "https://", "ssh://"]
        .iter()
        .find_map(|scheme| host.strip_prefix(scheme))?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let hostname = if let Some(bracketed) = authority.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or(bracketed)
    } else {
        authority.split(':').next().unwrap_or(authority)
    };
    match hostname {
        "" | "localhost" | "127.0.0.1" | "::1" => None,
        h => Some(h.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(dir: &Path) -> EndpointInputs {
        EndpointInputs {
            docker_config_dir: dir.to_path_buf(),
            ..Default::default()
        }
    }

    fn write_context(dir: &Path, name: &str, host: &str) {
        let digest = hex::encode(Sha256::digest(name.as_bytes()));
        let meta = dir.join("contexts/meta").join(digest);
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            format!(r#"{{"Name":"{name}","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#),
        )
        .unwrap();
    }

    #[test]
    fn default_socket_without_anything() {
        let dir = tempfile::tempdir().unwrap();
        let ep = resolve(&inputs(dir.path())).unwrap();
        assert_eq!(ep.host, DEFAULT_SOCKET);
        assert!(!ep.is_remote());
        assert_eq!(ep.published_address(), "127.0.0.1");
    }

    #[test]
    fn docker_host_wins_over_context() {
        let dir = tempfile::tempdir().unwrap();
        write_context(dir.path(), "remote", "ssh://me@builder.example");
        let mut i = inputs(dir.path());
        i.docker_host = Some("tcp://10.1.2.3:2375".into());
        i.docker_context = Some("remote".into());
        let ep = resolve(&i).unwrap();
        assert_eq!(ep.host, "tcp://10.1.2.3:2375");
        assert_eq!(ep.published_address(), "10.1.2.3");
    }

    #[test]
    fn current_context_from_config_json() {
        let dir = tempfile::tempdir().unwrap();
        write_context(dir.path(), "remote", "ssh://me@builder.example:2222");
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"currentContext":"remote"}"#,
        )
        .unwrap();
        let ep = resolve(&inputs(dir.path())).unwrap();
        assert_eq!(ep.host, "ssh://me@builder.example:2222");
        assert!(ep.origin.contains("remote"));
        assert_eq!(ep.published_address(), "builder.example");
    }

    #[test]
    fn unknown_context_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut i = inputs(dir.path());
        i.docker_context = Some("nope".into());
        let err = resolve(&i).unwrap_err().to_string();
        assert!(
            err.contains("\"nope\"") && err.contains("DOCKER_CONTEXT"),
            "{err}"
        );
    }
}
