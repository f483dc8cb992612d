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
use std::sync::Mutex;

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
        if self.target.exists() {
            // A concurrent run finished first, or an incomplete leftover: replace it.
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

/// What [`Entry::check`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryState {
    Absent,
    Complete,
    /// It was removed; what was wrong.
    Damaged(String),
}

/// The list of an entry's files with their size, times and sha256.
const MANIFEST: &str = ".manifest";

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
struct Manifest {
    files: Vec<FileRecord>,
}

impl Manifest {
    /// Every regular file under `dir` (links and special files are not
    /// content the cache vouches for), the marker excepted.
    fn of_dir(dir: &Path) -> std::io::Result<Manifest> {
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
    fn render(&self) -> String {
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

    /// Long enough for file times (kernel clock ticks) to move on.
    fn tick() {
        std::thread::sleep(std::time::Duration::from_millis(30));
    }

    fn committed(dir: &Path) -> (Entry, CacheKey) {
        let cache = Cache::new(dir);
        let key = CacheKey::new().with("x", 1);
        let staging = cache.entry("test", "thing", &key).stage().unwrap();
        std::fs::write(staging.path("kubelet"), vec![7u8; 100_000]).unwrap();
        std::fs::create_dir(staging.path("bin")).unwrap();
        std::fs::write(staging.path("bin/kubeadm"), b"kubeadm").unwrap();
        (staging.commit(&key).unwrap(), key)
    }

    #[test]
    fn a_changed_file_in_a_complete_entry_is_found_and_the_entry_removed() {
        let dir = tempfile::tempdir().unwrap();
        // Same size, other content: found by its hash, its times having changed.
        let (entry, _) = committed(dir.path());
        assert_eq!(entry.check(), EntryState::Complete);
        tick();
        let mut bytes = std::fs::read(entry.path("kubelet")).unwrap();
        bytes[50_000] ^= 1;
        std::fs::write(entry.path("kubelet"), &bytes).unwrap();
        match entry.check() {
            EntryState::Damaged(why) => {
                assert!(why.starts_with("kubelet has sha256 "), "{why}");
                assert!(why.contains("when it was made"), "{why}");
            }
            other => panic!("{other:?}"),
        }
        assert!(!entry.dir().exists());
        assert!(!entry.is_complete());
        // Truncated, or removed: found by a stat.
        let (entry, _) = committed(dir.path());
        std::fs::write(entry.path("bin/kubeadm"), b"kube").unwrap();
        assert_eq!(
            entry.check(),
            EntryState::Damaged("bin/kubeadm has 4 bytes, 7 when it was made".into())
        );
        let (entry, _) = committed(dir.path());
        std::fs::remove_file(entry.path("kubelet")).unwrap();
        assert!(matches!(entry.check(), EntryState::Damaged(why) if why.starts_with("kubelet: ")));
        // A garbled manifest is damage too.
        let (entry, _) = committed(dir.path());
        std::fs::write(entry.path(MANIFEST), "12 x\n").unwrap();
        assert!(
            matches!(entry.check(), EntryState::Damaged(why) if why.contains("is unreadable: line 1")),
        );
    }

    #[test]
    fn an_intact_entry_is_checked_by_stat_and_a_touched_one_rehashed_once() {
        let dir = tempfile::tempdir().unwrap();
        let (entry, _) = committed(dir.path());
        let manifest = std::fs::read_to_string(entry.path(MANIFEST)).unwrap();
        assert_eq!(manifest.lines().count(), 3, "{manifest}");
        assert!(manifest.contains(" bin/kubeadm\n") && manifest.contains(" inputs.txt\n"));
        // Same content written again: new times, same hash; the manifest
        // takes the new times and the entry stays.
        tick();
        std::fs::write(entry.path("kubelet"), vec![7u8; 100_000]).unwrap();
        assert_eq!(entry.check(), EntryState::Complete);
        let refreshed = std::fs::read_to_string(entry.path(MANIFEST)).unwrap();
        assert_ne!(refreshed, manifest);
        assert_eq!(entry.check(), EntryState::Complete);
        assert_eq!(
            std::fs::read_to_string(entry.path(MANIFEST)).unwrap(),
            refreshed
        );
        // Entries from before manifests are trusted.
        std::fs::remove_file(entry.path(MANIFEST)).unwrap();
        assert_eq!(entry.check(), EntryState::Complete);
    }
}
