//! What values a setting takes and what it is by default, as the table
//! states them: shown in `--help`, errors and the README.

/// What values a setting takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Cidr,
    /// An integer within bounds.
    Int {
        min: u64,
        max: u64,
    },
    Bool,
    Version,
    /// One of the listed words: the names of a choice enum's variants.
    Choice(&'static [&'static str]),
    Url,
    ImageRepository,
    Path,
    Checksum,
    /// A port (within [`Kind::PORTS`]), or empty.
    Port,
    ClusterName,
    /// A name like an OCI runtime's, or empty.
    RuntimeName,
    Addons,
    /// Extra `ssh` options, split on whitespace.
    SshOptions,
    /// A duration of hours, minutes and seconds (`8760h`, `1h30m`),
    /// within bounds in seconds.
    Duration {
        min: u64,
        max: u64,
    },
}

impl Kind {
    /// The ports a [`Kind::Port`] setting accepts.
    pub const PORTS: (u64, u64) = (1, u16::MAX as u64);

    /// The bounds of an integer setting (`Int` or `Port`), inclusive.
    pub fn bounds(&self) -> Option<(u64, u64)> {
        match self {
            Kind::Int { min, max } => Some((*min, *max)),
            Kind::Port => Some(Kind::PORTS),
            Kind::Cidr
            | Kind::Bool
            | Kind::Version
            | Kind::Choice(_)
            | Kind::Url
            | Kind::ImageRepository
            | Kind::Path
            | Kind::Checksum
            | Kind::ClusterName
            | Kind::RuntimeName
            | Kind::Addons
            | Kind::SshOptions
            | Kind::Duration { .. } => None,
        }
    }

    /// What is accepted, for errors and `--help`.
    pub fn accepted(&self) -> String {
        match self {
            Kind::Cidr => "an IPv4 CIDR such as 10.192.0.0/16".to_string(),
            Kind::Int { min, max } if *max == u64::from(u32::MAX) => {
                format!("an integer ≥ {min}")
            }
            Kind::Int { min, max } => format!("an integer from {min} to {max}"),
            Kind::Bool => "true or false (also yes/no, on/off, 1/0)".to_string(),
            Kind::Version => format!(
                "a Kubernetes version: v1.x.y, 1.x.y, 1.x (its newest patch), stable or latest; supported minors 1.{}–1.{}",
                super::SUPPORTED_MINORS.start(),
                super::SUPPORTED_MINORS.end()
            ),
            Kind::Choice(words) => match words.split_last() {
                Some((last, rest)) if !rest.is_empty() => {
                    format!("{} or {last}", rest.join(", "))
                }
                _ => words.join(""),
            },
            Kind::Url => "an http:// or https:// URL".to_string(),
            Kind::ImageRepository => {
                "an image repository: registry host[:port][/path], e.g. registry.k8s.io".to_string()
            }
            Kind::Path => "a path".to_string(),
            Kind::Checksum => "a hex sha1 (40 digits) or sha256 (64 digits)".to_string(),
            Kind::Port => {
                let (min, max) = Kind::PORTS;
                format!("a port from {min} to {max}, or empty for a free one")
            }
            Kind::ClusterName => {
                "lowercase letters, digits and '-', starting with a letter, at most 40 characters"
                    .to_string()
            }
            Kind::RuntimeName => {
                "a runtime name registered with the engine (letters, digits, '.', '_', '-'), or empty for its default"
                    .to_string()
            }
            Kind::Addons => format!(
                "a comma-separated list of addon names ({}), http(s) URLs or paths to .yaml/.yml files; empty for none",
                super::NAMED_ADDONS.join(", ")
            ),
            Kind::SshOptions => {
                "ssh options separated by spaces, each starting with '-' or following one (e.g. -i ~/.ssh/ci -o Port=2222); empty for none"
                    .to_string()
            }
            Kind::Duration { min, max } => format!(
                "a duration in hours, minutes and seconds such as 8760h, 90m or 1h30m, from {} to {}",
                format_duration(*min),
                format_duration(*max)
            ),
        }
    }

    /// Placeholder shown in `--help`.
    pub fn value_name(&self) -> &'static str {
        match self {
            Kind::Cidr => "CIDR",
            Kind::Int { .. } => "N",
            Kind::Bool => "BOOL",
            Kind::Version => "VERSION",
            Kind::Choice(_) => "NAME",
            Kind::Url => "URL",
            Kind::ImageRepository => "REPOSITORY",
            Kind::Path => "PATH",
            Kind::Checksum => "HEX",
            Kind::Port => "PORT",
            Kind::ClusterName => "NAME",
            Kind::RuntimeName => "RUNTIME",
            Kind::Addons => "LIST",
            Kind::SshOptions => "OPTIONS",
            Kind::Duration { .. } => "DURATION",
        }
    }
}

/// `seconds` as Go writes a duration, without zero units: `8760h`,
/// `1h30m`, `90s` (`0s` for none). kubeadm's configuration reads this form.
pub fn format_duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let mut out = String::new();
    for (n, unit) in [(h, 'h'), (m, 'm'), (s, 's')] {
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

/// A setting's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// This text, read like a value from any other source.
    Text(&'static str),
    /// Unset: empty.
    None,
    /// Worked out when settings are resolved, as `how` says; `shown`
    /// describes it in `--help` and the README.
    Computed {
        shown: &'static str,
        how: Computation,
    },
}

/// How a computed default is worked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Computation {
    /// The current directory.
    CurrentDir,
    /// `kubeadm-local-cluster` in `$XDG_CACHE_HOME`, or in `~/.cache`
    /// when that is unset or empty.
    CacheDir,
    /// Left unset by the settings and decided when the cluster is made
    /// (from the Docker engine: its architecture, its default runtime, a
    /// free port).
    Deferred,
}
