//! Settings errors: each names the setting, where the value came from, the
//! bad value and what would be accepted.

use std::fmt;
use std::path::PathBuf;

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File { path: PathBuf, line: usize },
    Env { var: String },
    Flag { flag: String },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("the default"),
            Source::File { path, line } => write!(f, "file {}:{line}", path.display()),
            Source::Env { var } => write!(f, "env {var}"),
            Source::Flag { flag } => write!(f, "flag --{flag}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{0}")]
    Invalid(Box<InvalidValue>),
    #[error("{}:{line}: {reason}", path.display())]
    FileSyntax {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("{}:{line}: {key} must be {accepted}, not {found}", path.display())]
    FileType {
        key: &'static str,
        path: PathBuf,
        line: usize,
        found: &'static str,
        accepted: String,
    },
    #[error("{}:{line}: unknown setting `{key}`{}", path.display(), suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownKey {
        key: String,
        path: PathBuf,
        line: usize,
        suggestion: Option<String>,
    },
    #[error("LOCAL_CLUSTER_CONF names {}, which does not exist", path.display())]
    MissingConfFile { path: PathBuf },
    #[error("cannot read config file {}: {reason}", path.display())]
    UnreadableFile { path: PathBuf, reason: String },
    /// Two or more settings that do not go together; the message names them
    /// and their sources.
    #[error("{0}")]
    Conflict(String),
}

/// A value that does not parse or is out of range.
#[derive(Debug)]
pub struct InvalidValue {
    pub key: &'static str,
    pub flag: &'static str,
    pub origin: Source,
    pub value: String,
    pub reason: String,
    pub accepted: String,
}

impl fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {} (--{}) from {}: {:?} {}; expected {}",
            self.key, self.flag, self.origin, self.value, self.reason, self.accepted
        )
    }
}
