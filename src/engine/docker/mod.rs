//! [`Engine`](super::Engine) over the Docker Engine API (bollard), one file
//! per kind of object. This is the only place that knows the API's types and
//! status codes; what the rest of the tool acts on is turned into
//! [`ApiErrorKind`] here.

mod containers;
mod exec;
mod files;
mod images;
mod networks;
mod volumes;

use std::collections::HashMap;

use super::endpoint::{self, Endpoint};
use super::{ApiErrorKind, EngineError, EngineInfo, Labels, Result};

/// A connected Docker engine.
#[derive(Clone)]
pub struct Docker {
    api: bollard::Docker,
    endpoint: Endpoint,
    info: EngineInfo,
}

impl Docker {
    /// Connect to the engine named by the environment (see [`endpoint`]) and
    /// read its facts. Fails with a clear message when it cannot be reached.
    pub async fn connect() -> Result<Docker> {
        let endpoint = endpoint::resolve(&endpoint::EndpointInputs::from_process_env())?;
        Self::connect_to(endpoint).await
    }

    pub async fn connect_to(endpoint: Endpoint) -> Result<Docker> {
        let connect_err = |source: bollard::errors::Error| EngineError::Connect {
            host: endpoint.host.clone(),
            origin: endpoint.origin.clone(),
            source: Box::new(source),
        };
        let api = match &endpoint.tls_dir {
            Some(dir) => bollard::Docker::connect_with_ssl(
                &endpoint.host,
                &dir.join("key.pem"),
                &dir.join("cert.pem"),
                &dir.join("ca.pem"),
                120,
                bollard::API_DEFAULT_VERSION,
            ),
            None => bollard::Docker::connect_with_host(&endpoint.host),
        }
        .map_err(connect_err)?;
        // bollard speaks a newer API than old engines (Debian's 20.10 is 1.41).
        let api = api.negotiate_version().await.map_err(connect_err)?;
        let version = api.version().await.map_err(connect_err)?;
        let info = api.info().await.map_err(connect_err)?;
        let security = info.security_options.clone().unwrap_or_default();
        let info = EngineInfo {
            server_version: version.version.clone().unwrap_or_default(),
            api_version: version.api_version.clone().unwrap_or_default(),
            arch: super::go_arch(info.architecture.as_deref().unwrap_or("")),
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
        Ok(Docker {
            api,
            endpoint,
            info,
        })
    }
}

impl super::Engine for Docker {
    fn info(&self) -> &EngineInfo {
        &self.info
    }

    fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}

/// Turn an API error into ours, naming the action.
fn api(action: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> EngineError {
    let action = action.into();
    move |source| EngineError::Api {
        kind: classify(&source),
        action,
        source: Box::new(source),
    }
}

fn classify(err: &bollard::errors::Error) -> ApiErrorKind {
    match err {
        bollard::errors::Error::DockerResponseServerError {
            status_code: 409, ..
        } => ApiErrorKind::Conflict,
        // The engine reports a taken host port only in the message of an
        // HTTP 500 (from its port allocator or the kernel's bind).
        bollard::errors::Error::DockerResponseServerError { message, .. }
            if message.contains("port is already allocated")
                || message.contains("address already in use") =>
        {
            ApiErrorKind::PortInUse
        }
        _ => ApiErrorKind::Other,
    }
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

/// Label filters in the API's form.
fn label_filters(labels: &Labels<'_>) -> HashMap<String, Vec<String>> {
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

fn non_empty(v: &[String]) -> Option<Vec<String>> {
    (!v.is_empty()).then(|| v.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_error(status_code: u16, message: &str) -> bollard::errors::Error {
        bollard::errors::Error::DockerResponseServerError {
            status_code,
            message: message.to_string(),
        }
    }

    #[test]
    fn api_errors_are_classified_once_here() {
        assert_eq!(
            classify(&server_error(409, "image is being used")),
            ApiErrorKind::Conflict
        );
        assert_eq!(
            classify(&server_error(
                500,
                "driver failed programming external connectivity: Bind for 127.0.0.1:6443 failed: port is already allocated"
            )),
            ApiErrorKind::PortInUse
        );
        assert_eq!(
            classify(&server_error(
                500,
                "listen tcp4 127.0.0.1:40000: bind: address already in use"
            )),
            ApiErrorKind::PortInUse
        );
        assert_eq!(classify(&server_error(500, "boom")), ApiErrorKind::Other);
    }
}
