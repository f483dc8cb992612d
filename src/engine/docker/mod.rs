//! [`Engine`](super::Engine) over the Docker Engine API (bollard), one file
//! per kind of object. This is the only place that knows the API's types and
//! status codes; what the rest of the tool acts on is turned into
//! [`ApiErrorKind`] here.

mod changes;
mod connect;
mod containers;
mod exec;
mod files;
mod images;
mod networks;
mod volumes;

use std::collections::HashMap;

use super::endpoint::Endpoint;
use super::{ApiErrorKind, EngineError, EngineInfo, Labels};

/// A connected Docker engine.
#[derive(Clone)]
pub struct Docker {
    api: bollard::Docker,
    endpoint: Endpoint,
    info: EngineInfo,
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
    move |source| match &source {
        bollard::errors::Error::DockerResponseServerError { message, .. }
            if message.contains("error setting rlimit") =>
        {
            EngineError::Ulimits {
                action,
                source: Box::new(source),
            }
        }
        _ => EngineError::Api {
            kind: classify(&source),
            action,
            source: Box::new(source),
        },
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
        bollard::errors::Error::DockerResponseServerError { message, .. }
            if crate::error::says_no_space(message) =>
        {
            ApiErrorKind::NoSpace
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

/// Whether `have` holds every label of `want` (an empty value: the key).
fn has_labels(have: &HashMap<String, String>, want: &Labels<'_>) -> bool {
    want.iter().all(|(k, v)| match have.get(*k) {
        Some(value) => v.is_empty() || value == v,
        None => false,
    })
}

fn non_empty(v: &[String]) -> Option<Vec<String>> {
    (!v.is_empty()).then(|| v.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_match_by_value_or_by_key_alone() {
        let have: HashMap<String, String> = [("a", "1"), ("b", "2")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert!(has_labels(&have, &[("a", "1"), ("b", "")]));
        assert!(has_labels(&have, &[]));
        assert!(!has_labels(&have, &[("a", "1"), ("b", "3")]));
        assert!(!has_labels(&have, &[("c", "")]));
    }

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

    #[test]
    fn a_container_refused_its_ulimits_says_what_to_set() {
        // Podman 4.3's answer on a machine whose root lacks CAP_SYS_RESOURCE.
        let refused = server_error(
            500,
            "runc: runc create failed: unable to start container process: error during \
             container init: error setting rlimits for ready process: error setting rlimit \
             type 7: operation not permitted: OCI permission denied",
        );
        let err = api("start container kube-master")(refused);
        assert!(matches!(err, EngineError::Ulimits { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.starts_with("Docker engine: start container kube-master: ")
                && text.contains("default_ulimits")
                && text.contains("ulimit -Hn"),
            "{text}"
        );
        let other = api("start container kube-master")(server_error(500, "boom"));
        assert!(matches!(other, EngineError::Api { .. }), "{other:?}");
    }
}
