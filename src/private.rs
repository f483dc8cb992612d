//! Files and directories only the user may read.
//!
//! The cluster's home directory (`~/.kubeadm-local-cluster`, and
//! `clusters/<name>` in it for other clusters) holds admin.conf, the
//! cluster's admin credentials, and e2e results, whose logs can show
//! tokens; `logs` exports contain kubeadm's configuration with the
//! bootstrap token. So what we create there is 0700 (directories) and 0600
//! (files) from the moment it exists: the mode is given when creating, never
//! set after the secret is in. Created, not just narrowed, because a
//! `chmod` after writing leaves a window, and a umask of 022 would give
//! 0755/0644.
//!
//! The build cache (`~/.cache/kubeadm-local-cluster`) is not private: it
//! holds downloads, builds and their inputs, nothing secret.

use std::fs::{File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub const DIR_MODE: u32 = 0o700;
pub const FILE_MODE: u32 = 0o600;

/// Create `dir` and any missing parents with mode 0700; `dir` itself is
/// narrowed to 0700 if it exists with more (as older versions made it):
/// what is inside is then out of others' reach whatever its own mode.
pub fn dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)?;
    narrow(dir, DIR_MODE).map(drop)
}

/// Take group and other access away from `path` if it has any; true when it
/// had. The owner's bits are set to `mode`'s.
pub fn narrow(path: &Path, mode: u32) -> std::io::Result<bool> {
    let current = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if current & 0o077 == 0 {
        return Ok(false);
    }
    std::fs::set_permissions(path, Permissions::from_mode(mode))?;
    Ok(true)
}

/// Open `path` for writing, truncated, with mode 0600; a file that existed
/// with more is narrowed before anything is written to it.
pub fn create(path: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)?;
    if file.metadata()?.permissions().mode() & 0o077 != 0 {
        file.set_permissions(Permissions::from_mode(FILE_MODE))?;
    }
    Ok(file)
}

/// Write `content` to `path` (mode 0600, see [`create`]).
pub fn write(path: &Path, content: impl AsRef<[u8]>) -> std::io::Result<()> {
    create(path)?.write_all(content.as_ref())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The mode bits of `path`.
    pub fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    /// Runs `f` with the umask most systems have (022), so a file or
    /// directory created without an explicit mode would come out 0644/0755.
    pub fn with_umask_022<T>(f: impl FnOnce() -> T) -> T {
        // The umask is process-wide: tests that depend on it take turns.
        static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _turn = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
        let result = f();
        nix::sys::stat::umask(old);
        result
    }

    #[test]
    fn new_directories_and_files_are_private_under_umask_022() {
        with_umask_022(|| {
            let root = tempfile::tempdir().unwrap();
            let deep = root.path().join("home/clusters/c");
            dir(&deep).unwrap();
            for d in ["home", "home/clusters", "home/clusters/c"] {
                assert_eq!(mode(&root.path().join(d)), 0o700, "{d}");
            }
            let file = deep.join("admin.conf");
            write(&file, "secret").unwrap();
            assert_eq!(mode(&file), 0o600);
            assert_eq!(std::fs::read_to_string(&file).unwrap(), "secret");
            // What a plain create would have made, to show the umask was on.
            let plain = deep.join("plain");
            std::fs::write(&plain, "").unwrap();
            assert_eq!(mode(&plain), 0o644);
        });
    }

    #[test]
    fn what_an_older_version_left_open_is_narrowed() {
        let root = tempfile::tempdir().unwrap();
        let home = root.path().join("home");
        std::fs::create_dir(&home).unwrap();
        std::fs::set_permissions(&home, Permissions::from_mode(0o755)).unwrap();
        let file = home.join("kubectl.version");
        std::fs::write(&file, "old").unwrap();
        std::fs::set_permissions(&file, Permissions::from_mode(0o644)).unwrap();
        dir(&home).unwrap();
        assert_eq!(mode(&home), 0o700);
        write(&file, "v1.37.2").unwrap();
        assert_eq!(mode(&file), 0o600);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "v1.37.2");
        // Already private: left alone, and said so.
        assert!(!narrow(&home, DIR_MODE).unwrap());
        std::fs::set_permissions(&home, Permissions::from_mode(0o750)).unwrap();
        assert!(narrow(&home, DIR_MODE).unwrap());
        assert_eq!(mode(&home), 0o700);
    }
}
