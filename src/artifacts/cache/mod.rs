//! The build cache: one directory per artifact, named by what it is and a hash
//! of every input that affects its content. An entry appears only when it is
//! complete (it is built in a staging directory and renamed into place), so a
//! failed build or a download with a wrong checksum never enters the cache.
//!
//! It holds no secrets (downloads, builds, the inputs they were made from),
//! so unlike the cluster's home directory (see [`crate::private`]) it keeps
//! the modes the umask gives.
//!
//! Here: the cache, its entries and their keys; `check.rs` finds a damaged
//! entry by the manifest of its files; `staging.rs` fills a new entry and
//! commits it.

mod check;
mod staging;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use check::EntryState;
pub use staging::{abandoned_on_full_filesystem, filesystem_is_full, Staging};

#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

/// The inputs an artifact depends on, in a stable order.
#[derive(Debug, Clone, Default)]
pub struct CacheKey {
    fields: Vec<(String, String)>,
}

impl CacheKey {
    pub fn new() -> CacheKey {
        CacheKey::default()
    }

    pub fn with(mut self, name: &str, value: impl ToString) -> CacheKey {
        self.fields.push((name.to_string(), value.to_string()));
        self
    }

    /// Hex sha256 of the fields (first 16 chars are used in names).
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        for (k, v) in &self.fields {
            h.update(k.as_bytes());
            h.update([0]);
            h.update(v.as_bytes());
            h.update([0]);
        }
        hex::encode(h.finalize())
    }

    fn describe(&self) -> String {
        let mut s = String::new();
        for (k, v) in &self.fields {
            let _ = writeln!(s, "{k}: {v}");
        }
        s
    }
}

/// A place in the cache for one artifact.
#[derive(Debug, Clone)]
pub struct Entry {
    dir: PathBuf,
}

const COMPLETE_MARKER: &str = ".complete";

impl Cache {
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The entry for `name` (e.g. `kubernetes-v1.37.2-amd64`) under `kind`
    /// (e.g. `go-build`), keyed by `key`.
    pub fn entry(&self, kind: &str, name: &str, key: &CacheKey) -> Entry {
        Entry {
            dir: self
                .root
                .join(kind)
                .join(format!("{name}-{}", &key.hash()[..16])),
        }
    }

    /// Remove everything (for `clean --all`).
    pub fn remove_all(&self) -> std::io::Result<()> {
        match std::fs::remove_dir_all(&self.root) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
}

impl Entry {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// Whether the entry is there and intact. A damaged one (a file
    /// changed, truncated or removed since it was made) is removed, with a
    /// warning, so that the caller makes it again.
    pub fn is_complete(&self) -> bool {
        match self.check() {
            EntryState::Complete => true,
            EntryState::Absent => false,
            EntryState::Damaged(why) => {
                // Entries are checked deep inside builds that have no Ui;
                // a warning is shown at every verbosity, as Ui's are.
                crate::output::note(format_args!(
                    "warning: cache entry {} was damaged ({why}); removed it, it is made again",
                    self.dir.display()
                ));
                false
            }
        }
    }
}

/// Path, size and modification time identify an input file well enough for
/// cache keys: cache entries are immutable once committed, and source-tree
/// builds change both size and time. (Hashing 600 MB of binaries on every
/// `up` would cost seconds.)
pub fn file_identity(path: &Path) -> std::io::Result<String> {
    let meta = std::fs::metadata(path)?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    Ok(format!("{}:{}:{mtime}", path.display(), meta.len()))
}

#[cfg(test)]
mod tests;
