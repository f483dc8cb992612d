//! Filling a cache entry: a staging directory beside it, committed whole
//! by one rename or deleted; and whether an abandoned build had run out of
//! space.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::check::{Manifest, MANIFEST};
use super::{CacheKey, Entry, COMPLETE_MARKER};

impl Entry {
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
            tmp: Some(tmp),
            target: self.dir.clone(),
        })
    }
}

/// A directory being filled; dropped without `commit`, it is deleted.
pub struct Staging {
    /// None once committed.
    tmp: Option<tempfile::TempDir>,
    target: PathBuf,
}

impl Staging {
    pub fn dir(&self) -> &Path {
        self.tmp.as_ref().expect("not yet committed").path()
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir().join(file)
    }

    /// Move the staged files into the cache entry, recording the key. The
    /// marker is written last, and the entry appears whole by one rename:
    /// a failure at any point (a full disk) leaves no entry and no staging
    /// directory behind.
    pub fn commit(mut self, key: &CacheKey) -> std::io::Result<Entry> {
        let staged = self.dir().to_path_buf();
        std::fs::write(staged.join("inputs.txt"), key.describe())?;
        // Hashed once here (seconds for the largest entries, after a build
        // or download that took far longer), checked on every use.
        let manifest = Manifest::of_dir(&staged)?;
        std::fs::write(staged.join(MANIFEST), manifest.render())?;
        std::fs::write(staged.join(COMPLETE_MARKER), b"")?;
        if self.target.join(COMPLETE_MARKER).exists() {
            // A concurrent run finished first. Its entry stays: the same
            // inputs made it, and that run (or a third) may be reading it
            // now; ours is deleted (the TempDir, dropped here).
            drop(self.tmp.take());
            return Ok(Entry {
                dir: self.target.clone(),
            });
        }
        if self.target.exists() {
            // An incomplete leftover: replace it.
            let old = self.target.with_extension("old");
            let _ = std::fs::remove_dir_all(&old);
            std::fs::rename(&self.target, &old)?;
            let _ = std::fs::remove_dir_all(&old);
        }
        std::fs::rename(&staged, &self.target)?;
        // Renamed away: nothing left for the TempDir to delete.
        let _ = self.tmp.take().map(tempfile::TempDir::keep);
        Ok(Entry {
            dir: self.target.clone(),
        })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // An abandoned build: note whether its filesystem was full at that
        // moment, before deleting what it wrote frees the space again.
        if let Some(tmp) = &self.tmp {
            if filesystem_is_full(tmp.path()) {
                *ABANDONED_FULL.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(tmp.path().to_path_buf());
            }
        }
    }
}

/// The last staging directory abandoned while its filesystem was full.
/// Tools do not always say that space ran out (debootstrap reports only
/// "Couldn't download packages"), and once the staging directory is gone
/// the disk looks fine again; the command's error report reads this.
static ABANDONED_FULL: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Where a build was abandoned on a full filesystem, if one was.
pub fn abandoned_on_full_filesystem() -> Option<PathBuf> {
    ABANDONED_FULL
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

/// Less than 16 MiB (or 2% of a small filesystem) free for us: no build
/// step can count on finishing there.
pub fn filesystem_is_full(path: &Path) -> bool {
    match nix::sys::statvfs::statvfs(path) {
        Ok(st) => {
            let block = st.fragment_size().max(1);
            let total = st.blocks() * block;
            let free = st.blocks_available() * block;
            free < (16 << 20).min(total / 50)
        }
        Err(_) => false,
    }
}
