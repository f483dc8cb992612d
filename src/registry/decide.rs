//! What to do with the registry container, decided from what the engine
//! holds: a pure function, unit-tested without an engine.

use std::collections::HashMap;

use super::DEFAULT_HOST_PORT;
use crate::labels::{LABEL_REGISTRY_PORT, LABEL_REGISTRY_SUBNET};

/// The registry container as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    pub running: bool,
    /// Host port it was made for (from its label).
    pub port: Option<u16>,
    /// Subnet of the cluster network it was made for (from its label).
    pub subnet: Option<String>,
    /// The image it runs, reused when it is remade.
    pub image: String,
}

impl Existing {
    pub fn from_labels(running: bool, image: &str, labels: &HashMap<String, String>) -> Existing {
        Existing {
            running,
            port: labels.get(LABEL_REGISTRY_PORT).and_then(|p| p.parse().ok()),
            subnet: labels.get(LABEL_REGISTRY_SUBNET).cloned(),
            image: image.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Running as wanted.
    Keep { port: u16 },
    /// Made as wanted but stopped (an engine restart): start it.
    Start { port: u16 },
    /// None exists: make one.
    Create { port: u16 },
    /// Remove and make again (the volume, so the images, stays).
    Recreate { port: u16, why: String },
}

impl Action {
    pub fn port(&self) -> u16 {
        match self {
            Action::Keep { port }
            | Action::Start { port }
            | Action::Create { port }
            | Action::Recreate { port, .. } => *port,
        }
    }
}

/// `wanted_port`: the port the settings name (None: keep the current one,
/// or [`DEFAULT_HOST_PORT`] for a new registry); `subnet`: the cluster
/// network's. A registry keeps its port unless another is asked for, so the
/// `localhost:<port>/...` names in pod specs stay valid.
pub fn action(existing: Option<&Existing>, wanted_port: Option<u16>, subnet: &str) -> Action {
    let Some(existing) = existing else {
        return Action::Create {
            port: wanted_port.unwrap_or(DEFAULT_HOST_PORT),
        };
    };
    let port = wanted_port.or(existing.port).unwrap_or(DEFAULT_HOST_PORT);
    if existing.port != Some(port) {
        return Action::Recreate {
            port,
            why: match existing.port {
                Some(old) => format!("it is published on port {old}, not {port}"),
                None => "it does not record its port".to_string(),
            },
        };
    }
    if existing.subnet.as_deref() != Some(subnet) {
        return Action::Recreate {
            port,
            why: format!(
                "it was made for subnet {}, the cluster network now has {subnet}",
                existing.subnet.as_deref().unwrap_or("(unknown)")
            ),
        };
    }
    if existing.running {
        Action::Keep { port }
    } else {
        Action::Start { port }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBNET: &str = "10.231.0.0/24";

    fn existing(running: bool, port: Option<u16>, subnet: &str) -> Existing {
        Existing {
            running,
            port,
            subnet: Some(subnet.to_string()),
            image: "registry:3".to_string(),
        }
    }

    #[test]
    fn a_missing_registry_is_made_on_the_asked_or_default_port() {
        assert_eq!(action(None, None, SUBNET), Action::Create { port: 5001 });
        assert_eq!(
            action(None, Some(5500), SUBNET),
            Action::Create { port: 5500 }
        );
    }

    #[test]
    fn a_running_registry_is_reused_keeping_its_port_unless_another_is_asked_for() {
        let running = existing(true, Some(5600), SUBNET);
        assert_eq!(
            action(Some(&running), None, SUBNET),
            Action::Keep { port: 5600 }
        );
        assert_eq!(
            action(Some(&running), Some(5600), SUBNET),
            Action::Keep { port: 5600 }
        );
        match action(Some(&running), Some(5001), SUBNET) {
            Action::Recreate { port: 5001, why } => {
                assert_eq!(why, "it is published on port 5600, not 5001")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_stopped_registry_is_started() {
        let stopped = existing(false, Some(5001), SUBNET);
        assert_eq!(
            action(Some(&stopped), None, SUBNET),
            Action::Start { port: 5001 }
        );
    }

    #[test]
    fn a_registry_made_for_another_subnet_is_remade_on_its_port() {
        let old = existing(false, Some(5600), "10.192.0.0/16");
        match action(Some(&old), None, SUBNET) {
            Action::Recreate { port: 5600, why } => assert!(why.contains("10.192.0.0/16"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn labels_are_read_leniently() {
        let labels = HashMap::from([
            (LABEL_REGISTRY_PORT.to_string(), "nonsense".to_string()),
            (LABEL_REGISTRY_SUBNET.to_string(), SUBNET.to_string()),
        ]);
        let e = Existing::from_labels(true, "img", &labels);
        assert_eq!(e.port, None);
        assert!(matches!(
            action(Some(&e), None, SUBNET),
            Action::Recreate { port: 5001, .. }
        ));
    }
}
