//! One lock per cluster, so that two commands never change the same cluster
//! at once (two terminals, a CI job beside a developer). It is an advisory
//! `flock(2)` on a file under `~/.kubeadm-local-cluster/locks`: the kernel
//! lets go of it when its holder exits in any way, `kill -9` included, so a
//! lock is never left behind by a dead process. The file also says who holds
//! it, for the waiting side's message, and is emptied on a normal release:
//! a non-empty file found free means its last holder was killed while it
//! changed the cluster, which the next holder says.
//!
//! The lock's name holds the cluster's name and the engine's ID: clusters of
//! the same name on two engines are two clusters.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::ui::Ui;

/// How long a waiting command sleeps between attempts.
const POLL: Duration = Duration::from_millis(200);

/// A holder writes who it is just after it takes the lock; a command that
/// finds the lock taken rereads an empty file this often, this many times,
/// before it says the holder without a name.
const HOLDER_REREAD: Duration = Duration::from_millis(25);
const HOLDER_REREADS: u32 = 40;

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "cluster {cluster:?} is busy: {holder}; not waiting for it (noWait from {source_of_setting})"
    )]
    Busy {
        cluster: String,
        holder: Busy,
        source_of_setting: String,
    },
    #[error("cannot use the lock file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Who holds a lock, as its file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    pub command: String,
    /// Seconds since the Unix epoch when it took the lock.
    pub since: u64,
}

impl Holder {
    fn me(command: &str) -> Holder {
        Holder {
            pid: std::process::id(),
            command: command.to_string(),
            since: crate::time::unix_seconds(SystemTime::now()) as u64,
        }
    }

    fn to_text(&self) -> String {
        format!("{}\n{}\n{}\n", self.pid, self.since, self.command)
    }

    /// None for an empty or unreadable file (released, or being written).
    fn parse(text: &str) -> Option<Holder> {
        let mut lines = text.lines();
        let pid = lines.next()?.trim().parse().ok()?;
        let since = lines.next()?.trim().parse().ok()?;
        let command = lines.next()?.to_string();
        Some(Holder {
            pid,
            command,
            since,
        })
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let since = crate::time::rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(self.since));
        write!(
            f,
            "`{}` (pid {}) has been changing it since {since}",
            self.command, self.pid
        )
    }
}

/// The holder as a waiting command names it: the file's words, or, when
/// the file stayed empty (its holder was stopped between taking the lock
/// and writing its name), no name at all rather than a made-up one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Busy(pub Option<Holder>);

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(holder) => holder.fmt(f),
            None => f.write_str("another local-cluster command holds its lock"),
        }
    }
}

/// What the caller asks for.
pub struct Request<'a> {
    /// Directory of the lock files (made 0700 when missing).
    pub dir: &'a Path,
    pub cluster: &'a str,
    pub engine_id: &'a str,
    /// The command as the holder's message names it, e.g. `local-cluster up`.
    pub command: &'a str,
    /// Wait for a busy lock (false: fail at once).
    pub wait: bool,
    /// Where `wait` came from, for the refusal.
    pub wait_source: String,
}

/// A held lock; dropping it releases it.
pub struct ClusterLock {
    lock: Option<Flock<File>>,
    path: PathBuf,
    /// Directories made for the lock, innermost first: removed with it
    /// when empty, so that a command on a cluster that is not there leaves
    /// no trace in the home directory.
    made_dirs: Vec<PathBuf>,
}

impl Drop for ClusterLock {
    fn drop(&mut self) {
        if let Some(lock) = self.lock.take() {
            // Deleted while still held: a waiter that opened this file sees,
            // once it has the lock, that the path no longer names it, and
            // opens the path again (see `is_current`).
            let _ = std::fs::remove_file(&self.path);
            let _ = lock.unlock();
            // remove_dir fails, as it should, on a directory still in use.
            for dir in &self.made_dirs {
                let _ = std::fs::remove_dir(dir);
            }
        }
    }
}

/// Does `path` still name the locked file? Not when its holder deleted it
/// on release between our open and our lock.
fn is_current(lock: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (lock.metadata(), std::fs::metadata(path)) {
        (Ok(held), Ok(named)) => held.ino() == named.ino() && held.dev() == named.dev(),
        _ => false,
    }
}

pub fn lock_path(dir: &Path, cluster: &str, engine_id: &str) -> PathBuf {
    // Engine IDs are made of letters, digits and colons (older engines) or
    // dashes; the colons are replaced for file systems that mind them.
    let engine: String = engine_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(40)
        .collect();
    let engine = if engine.is_empty() {
        "engine".to_string()
    } else {
        engine
    };
    dir.join(format!("{cluster}@{engine}.lock"))
}

/// Take the cluster's lock: at once when it is free; when another command
/// holds it, wait (saying who) or fail, as the request says.
pub async fn acquire(request: &Request<'_>, ui: &Ui) -> Result<ClusterLock, LockError> {
    let path = lock_path(request.dir, request.cluster, request.engine_id);
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    let made_dirs: Vec<PathBuf> = request
        .dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
        .map(Path::to_path_buf)
        .collect();
    let mut said_waiting = false;
    loop {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(request.dir)
            .map_err(io)?;
        let file = open(&path).map_err(io)?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) if !is_current(&lock, &path) => {
                // Released and deleted meanwhile: take the path's new file.
                let _ = lock.unlock();
            }
            Ok(mut lock) => {
                let mut left = String::new();
                lock.read_to_string(&mut left).map_err(io)?;
                if let Some(previous) = Holder::parse(&left) {
                    ui.warn(format!(
                        "the last command that changed cluster {:?}, `{}` (pid {}), was killed \
                         before it finished; going on from what it left",
                        request.cluster, previous.command, previous.pid
                    ));
                }
                lock.set_len(0).map_err(io)?;
                lock.rewind().map_err(io)?;
                lock.write_all(Holder::me(request.command).to_text().as_bytes())
                    .map_err(io)?;
                lock.flush().map_err(io)?;
                return Ok(ClusterLock {
                    lock: Some(lock),
                    path,
                    made_dirs,
                });
            }
            Err((_, Errno::EWOULDBLOCK)) => {
                let holder = Busy(read_holder_when_written(&path).await);
                if !request.wait {
                    return Err(LockError::Busy {
                        cluster: request.cluster.to_string(),
                        holder,
                        source_of_setting: request.wait_source.clone(),
                    });
                }
                if !said_waiting {
                    ui.info(format!(
                        "Cluster {:?} is busy: {holder}; waiting for it to finish \
                         (with --no-wait, local-cluster fails at once instead).",
                        request.cluster
                    ));
                    said_waiting = true;
                }
                tokio::time::sleep(POLL).await;
            }
            Err((_, errno)) => return Err(io(std::io::Error::from(errno))),
        }
    }
}

fn open(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

fn read_holder(path: &Path) -> Option<Holder> {
    Holder::parse(&std::fs::read_to_string(path).ok()?)
}

/// The holder of a taken lock, reread for a moment while its file is still
/// empty: the holder took the lock an instant ago and is writing its name.
async fn read_holder_when_written(path: &Path) -> Option<Holder> {
    for _ in 0..HOLDER_REREADS {
        if let Some(holder) = read_holder(path) {
            return Some(holder);
        }
        tokio::time::sleep(HOLDER_REREAD).await;
    }
    read_holder(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(dir: &'a Path, wait: bool) -> Request<'a> {
        Request {
            dir,
            cluster: "kube",
            engine_id: "ABCD:EFGH",
            command: "local-cluster up",
            wait,
            wait_source: "flag --no-wait".to_string(),
        }
    }

    #[tokio::test]
    async fn a_held_lock_is_refused_naming_its_holder_and_free_again_once_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let ui = Ui::recording(1);
        let held = acquire(&request(dir.path(), false), &ui).await.unwrap();
        // flock locks belong to open file descriptions: a second open in the
        // same process conflicts like another process would.
        let err = acquire(&request(dir.path(), false), &ui)
            .await
            .err()
            .expect("busy");
        let text = err.to_string();
        assert!(text.starts_with("cluster \"kube\" is busy: `local-cluster up` (pid "));
        assert!(text.contains(&std::process::id().to_string()), "{text}");
        assert!(text.ends_with("not waiting for it (noWait from flag --no-wait)"));
        drop(held);
        let again = acquire(&request(dir.path(), false), &ui).await;
        assert!(again.is_ok());
        // A normal release leaves nothing to warn about.
        assert!(ui.events().is_empty(), "{:?}", ui.events());
    }

    /// The holder's name is written just after its lock is taken: a command
    /// that comes in between waits for the name instead of printing an
    /// empty one (pid 0 since 1970), and says no name when none comes.
    #[tokio::test]
    async fn a_holder_that_has_not_written_its_name_yet_is_named_once_it_has() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path()).unwrap();
        let path = lock_path(dir.path(), "kube", "ABCD:EFGH");
        let taken = Flock::lock(open(&path).unwrap(), FlockArg::LockExclusiveNonblock).unwrap();
        let write_name = async {
            tokio::time::sleep(Duration::from_millis(150)).await;
            std::fs::write(&path, "4242\n1700000000\nlocal-cluster down\n").unwrap();
        };
        let ui = Ui::recording(1);
        let refusing = request(dir.path(), false);
        let (refused, ()) = tokio::join!(acquire(&refusing, &ui), write_name);
        let text = refused.err().expect("busy").to_string();
        assert!(
            text.contains("is busy: `local-cluster down` (pid 4242)"),
            "{text}"
        );

        std::fs::write(&path, "").unwrap();
        let text = acquire(&refusing, &ui)
            .await
            .err()
            .expect("busy")
            .to_string();
        assert_eq!(
            text,
            "cluster \"kube\" is busy: another local-cluster command holds its lock; \
             not waiting for it (noWait from flag --no-wait)"
        );
        drop(taken);
    }

    #[tokio::test]
    async fn a_waiting_command_says_so_once_and_goes_on_when_the_holder_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let ui = Ui::recording(1);
        let held = acquire(&request(dir.path(), false), &ui).await.unwrap();
        let release = async {
            tokio::time::sleep(Duration::from_millis(700)).await;
            drop(held);
        };
        let waiting = request(dir.path(), true);
        let (got, ()) = tokio::join!(acquire(&waiting, &ui), release);
        assert!(got.is_ok());
        let events = ui.events();
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(
            matches!(&events[0], crate::ui::Event::Info(t) if t.contains("is busy") && t.contains("waiting for it to finish")),
            "{events:?}"
        );
    }

    #[tokio::test]
    async fn a_lock_file_left_by_a_killed_holder_is_taken_over_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let path = lock_path(dir.path(), "kube", "ABCD:EFGH");
        std::fs::write(&path, "4242\n1700000000\nlocal-cluster down\n").unwrap();
        let ui = Ui::recording(1);
        let lock = acquire(&request(dir.path(), false), &ui).await.unwrap();
        let events = ui.events();
        assert!(
            matches!(&events[..], [crate::ui::Event::Warning(t)] if t.contains("`local-cluster down` (pid 4242), was killed")),
            "{events:?}"
        );
        let mine = read_holder(&path).unwrap();
        assert_eq!(mine.pid, std::process::id());
        drop(lock);
        // Released normally: nothing is left, not even the directory.
        assert!(!path.exists());
        assert!(!dir.path().exists() || std::fs::read_dir(dir.path()).unwrap().next().is_none());
    }

    #[test]
    fn lock_files_are_named_for_cluster_and_engine_and_private() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            lock_path(dir.path(), "kube", "ABCD:EFGH:1234"),
            dir.path().join("kube@ABCD-EFGH-1234.lock")
        );
        assert_eq!(
            lock_path(dir.path(), "kube", ""),
            dir.path().join("kube@engine.lock")
        );
        let rt = tokio::runtime::Runtime::new().unwrap();
        let ui = Ui::recording(1);
        let nested = dir.path().join("home/.kubeadm-local-cluster/locks");
        let lock = rt.block_on(acquire(&request(&nested, false), &ui)).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&nested), 0o700);
        assert_eq!(mode(&lock_path(&nested, "kube", "ABCD:EFGH")) & 0o077, 0);
        drop(lock);
        // What was made for the lock goes with it.
        assert!(!dir.path().join("home").exists());
    }
}
