//! Checking a cache entry: the manifest of its files (size, times, sha256)
//! written when it is committed, read back on every use; a damaged entry
//! is removed.

use std::fmt::Write as _;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{Entry, COMPLETE_MARKER};

impl Entry {
    /// The entry's state, checked against the manifest written when it was
    /// committed: a file whose size, modification and change times are
    /// those recorded is taken as is (a stat, so that checking the ~400 MB
    /// of Kubernetes binaries on every `up` costs nothing); any other is
    /// hashed, and if its sha256 differs the entry is damaged and removed.
    /// Entries from before manifests existed are trusted.
    pub fn check(&self) -> EntryState {
        if !self.dir.join(COMPLETE_MARKER).exists() {
            return EntryState::Absent;
        }
        let manifest_path = self.dir.join(MANIFEST);
        let Ok(text) = std::fs::read_to_string(&manifest_path) else {
            return EntryState::Complete;
        };
        let damaged = |why: String| {
            let _ = remove_entry_dir(&self.dir);
            EntryState::Damaged(why)
        };
        let manifest = match Manifest::parse(&text) {
            Ok(m) => m,
            Err(why) => return damaged(format!("its {MANIFEST} is unreadable: {why}")),
        };
        let mut refreshed = Vec::with_capacity(manifest.files.len());
        let mut changed = false;
        for recorded in &manifest.files {
            let path = self.dir.join(&recorded.path);
            let stat = match Stat::of(&path) {
                Ok(stat) => stat,
                Err(e) => return damaged(format!("{}: {e}", recorded.path)),
            };
            if stat.size != recorded.stat.size {
                return damaged(format!(
                    "{} has {} bytes, {} when it was made",
                    recorded.path, stat.size, recorded.stat.size
                ));
            }
            if stat != recorded.stat {
                match sha256_file(&path) {
                    Ok(sum) if sum == recorded.sha256 => changed = true,
                    Ok(sum) => {
                        return damaged(format!(
                            "{} has sha256 {sum}, {} when it was made",
                            recorded.path, recorded.sha256
                        ))
                    }
                    Err(e) => return damaged(format!("{}: {e}", recorded.path)),
                }
            }
            refreshed.push(FileRecord {
                stat,
                ..recorded.clone()
            });
        }
        if changed {
            // Same content, touched (copied, restored from a backup):
            // record the new times so that the next check is a stat again.
            let _ = write_atomically(
                &manifest_path,
                Manifest { files: refreshed }.render().as_bytes(),
            );
        }
        EntryState::Complete
    }
}

/// What [`Entry::check`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryState {
    Absent,
    Complete,
    /// It was removed; what was wrong.
    Damaged(String),
}

/// The list of an entry's files with their size, times and sha256.
pub(super) const MANIFEST: &str = ".manifest";

/// Size, modification and change time: what a write to a file changes (the
/// change time even when the modification time is set back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Stat {
    fn of(path: &Path) -> std::io::Result<Stat> {
        use std::os::unix::fs::MetadataExt as _;
        let m = std::fs::symlink_metadata(path)?;
        if !m.is_file() {
            return Err(std::io::Error::other("is no longer a regular file"));
        }
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Ok(Stat {
            size: m.len(),
            mtime_ns: ns(m.mtime(), m.mtime_nsec()),
            ctime_ns: ns(m.ctime(), m.ctime_nsec()),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FileRecord {
    /// Relative to the entry, `/`-separated.
    path: String,
    stat: Stat,
    sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Manifest {
    files: Vec<FileRecord>,
}

impl Manifest {
    /// Every regular file under `dir` (links and special files are not
    /// content the cache vouches for), the marker excepted.
    pub(super) fn of_dir(dir: &Path) -> std::io::Result<Manifest> {
        let mut files = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(d) = pending.pop() {
            for item in std::fs::read_dir(&d)? {
                let item = item?;
                let kind = item.file_type()?;
                let path = item.path();
                if kind.is_dir() {
                    pending.push(path);
                } else if kind.is_file() {
                    let rel = path
                        .strip_prefix(dir)
                        .expect("walked from dir")
                        .to_string_lossy()
                        .into_owned();
                    if rel == COMPLETE_MARKER || rel == MANIFEST || rel.contains('\n') {
                        continue;
                    }
                    files.push(FileRecord {
                        stat: Stat::of(&path)?,
                        sha256: sha256_file(&path)?,
                        path: rel,
                    });
                }
            }
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Manifest { files })
    }

    /// One line a file: size, mtime and ctime (ns), sha256, path.
    pub(super) fn render(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            let _ = writeln!(
                out,
                "{} {} {} {} {}",
                f.stat.size, f.stat.mtime_ns, f.stat.ctime_ns, f.sha256, f.path
            );
        }
        out
    }

    fn parse(text: &str) -> Result<Manifest, String> {
        let mut files = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let bad = || format!("line {} is not `size mtime ctime sha256 path`", i + 1);
            let mut parts = line.splitn(5, ' ');
            let mut next = || parts.next().ok_or_else(bad);
            let size = next()?.parse().map_err(|_| bad())?;
            let mtime_ns = next()?.parse().map_err(|_| bad())?;
            let ctime_ns = next()?.parse().map_err(|_| bad())?;
            let sha256 = next()?.to_string();
            let path = next()?.to_string();
            if sha256.len() != 64 || path.is_empty() || path.split('/').any(|p| p == "..") {
                return Err(bad());
            }
            files.push(FileRecord {
                path,
                stat: Stat {
                    size,
                    mtime_ns,
                    ctime_ns,
                },
                sha256,
            });
        }
        Ok(Manifest { files })
    }
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut h = Sha256::new();
    std::io::copy(&mut std::fs::File::open(path)?, &mut h)?;
    Ok(hex::encode(h.finalize()))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Remove an entry: renamed aside first, so that no one sees it half gone.
fn remove_entry_dir(dir: &Path) -> std::io::Result<()> {
    let aside = dir.with_extension("damaged");
    let _ = std::fs::remove_dir_all(&aside);
    std::fs::rename(dir, &aside)?;
    std::fs::remove_dir_all(&aside)
}
