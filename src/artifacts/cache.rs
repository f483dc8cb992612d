//! The build cache: one directory per artifact, named by what it is and a hash
//! of every input that affects its content. An entry appears only when it is
//! complete (it is built in a staging directory and renamed into place), so a
//! failed build or a download with a wrong checksum never enters the cache.
//!
//! It holds no secrets (downloads, builds, the inputs they were made from),
//! so unlike the cluster's home directory (see [`crate::private`]) it keeps
//! the modes the umask gives.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

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

    pub fn is_complete(&self) -> bool {
        self.dir.join(COMPLETE_MARKER).exists()
    }

    /// A fresh staging directory next to the entry; fill it, then `commit`.
    pub fn stage(&self) -> std::io::Result<Staging> {
        let parent = self
            .dir
            .parent()
            .expect("entries live under the cache root");
        std::fs::create_dir_all(parent)?;
        let tmp = tempfile::Builder::new()
            .prefix(&format!(
                ".{}.",
                self.dir.file_name().unwrap_or_default().to_string_lossy()
            ))
            .tempdir_in(parent)?;
        Ok(Staging {
            tmp,
            target: self.dir.clone(),
        })
    }
}

/// A directory being filled; dropped without `commit`, it is deleted.
pub struct Staging {
    tmp: tempfile::TempDir,
    target: PathBuf,
}

impl Staging {
    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.tmp.path().join(file)
    }

    /// Move the staged files into the cache entry, recording the key.
    pub fn commit(self, key: &CacheKey) -> std::io::Result<Entry> {
        std::fs::write(self.tmp.path().join("inputs.txt"), key.describe())?;
        std::fs::write(self.tmp.path().join(COMPLETE_MARKER), b"")?;
        let staged = self.tmp.keep();
        if self.target.exists() {
            // A concurrent run finished first, or an incomplete leftover: replace it.
            let old = self.target.with_extension("old");
            let _ = std::fs::remove_dir_all(&old);
            std::fs::rename(&self.target, &old)?;
            let _ = std::fs::remove_dir_all(&old);
        }
        std::fs::rename(&staged, &self.target)?;
        Ok(Entry { dir: self.target })
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
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_any_field() {
        let a = CacheKey::new()
            .with("version", "v1.37.2")
            .with("arch", "amd64");
        let b = CacheKey::new()
            .with("version", "v1.37.2")
            .with("arch", "arm64");
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.hash(), a.clone().hash());
    }

    #[test]
    fn entries_appear_only_when_committed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let key = CacheKey::new().with("x", 1);
        let entry = cache.entry("test", "thing", &key);
        assert!(!entry.is_complete());
        {
            let staging = entry.stage().unwrap();
            std::fs::write(staging.path("f"), b"partial").unwrap();
            // dropped: a failed build
        }
        assert!(!entry.is_complete());
        assert!(!entry.dir().exists());
        let staging = entry.stage().unwrap();
        std::fs::write(staging.path("f"), b"done").unwrap();
        let entry = staging.commit(&key).unwrap();
        assert!(entry.is_complete());
        assert_eq!(std::fs::read(entry.path("f")).unwrap(), b"done");
        // Leftover staging directories are gone.
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("test"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }
}
