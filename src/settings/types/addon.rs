//! Addons to install once the cluster is up: known by name, or a
//! manifest's URL or file.

use std::fmt;
use std::path::PathBuf;

/// An addon to install after the cluster is up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addon {
    Named(NamedAddon),
    Url(String),
    File(PathBuf),
}

impl fmt::Display for Addon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addon::Named(n) => f.write_str(n.as_str()),
            Addon::Url(u) => f.write_str(u),
            Addon::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Addons known by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedAddon {
    /// rancher's local-path provisioner, as the default StorageClass.
    LocalPath,
    MetricsServer,
    /// Headlamp, the Kubernetes Dashboard's successor (the Dashboard was
    /// archived upstream in January 2026); also named `headlamp`.
    Dashboard,
}

impl NamedAddon {
    pub fn as_str(&self) -> &'static str {
        match self {
            NamedAddon::LocalPath => "local-path",
            NamedAddon::MetricsServer => "metrics-server",
            NamedAddon::Dashboard => "dashboard",
        }
    }

    pub fn from_name(name: &str) -> Option<NamedAddon> {
        match name {
            "local-path" => Some(NamedAddon::LocalPath),
            "metrics-server" => Some(NamedAddon::MetricsServer),
            "dashboard" | "headlamp" => Some(NamedAddon::Dashboard),
            _ => None,
        }
    }
}

/// Names `cluster.addons` accepts.
pub const NAMED_ADDONS: &[&str] = &["local-path", "metrics-server", "dashboard", "headlamp"];
