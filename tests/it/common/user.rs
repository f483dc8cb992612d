//! Running the tool as another user than root: `nobody`, with or without
//! the group of the engine's socket.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::process::Command;

/// The unprivileged user the tests run the tool as.
pub const NOBODY: u32 = 65534;

pub struct OtherUser {
    _dir: tempfile::TempDir,
    /// The binary, where that user may run it (test directories may be 0700).
    pub bin: PathBuf,
    /// Its HOME, its own.
    pub home: PathBuf,
}

impl OtherUser {
    pub fn new() -> OtherUser {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = dir.path().join("local-cluster");
        std::fs::copy(super::bin(), &bin).unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir(&home).unwrap();
        std::os::unix::fs::chown(&home, Some(NOBODY), Some(NOBODY)).unwrap();
        OtherUser {
            _dir: dir,
            bin,
            home,
        }
    }

    /// The engine's socket: the tests' engine (DOCKER_HOST), else the
    /// default one.
    pub fn socket() -> PathBuf {
        std::env::var("DOCKER_HOST")
            .ok()
            .and_then(|h| h.strip_prefix("unix://").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("/var/run/docker.sock"))
    }

    /// The group that may use the engine's socket.
    pub fn docker_group() -> u32 {
        std::fs::metadata(Self::socket()).unwrap().gid()
    }

    /// The tool as `nobody` with the supplementary `groups` only, on the
    /// tests' engine (a local socket), with no setting from the environment.
    pub fn command(&self, groups: &[u32]) -> Command {
        let mut cmd = Command::new("setpriv");
        cmd.arg(format!("--reuid={NOBODY}"))
            .arg(format!("--regid={NOBODY}"));
        if groups.is_empty() {
            cmd.arg("--clear-groups");
        } else {
            let list: Vec<String> = groups.iter().map(u32::to_string).collect();
            cmd.arg(format!("--groups={}", list.join(",")));
        }
        cmd.arg(&self.bin)
            .env("HOME", &self.home)
            .env("NO_COLOR", "1")
            .env(
                "DOCKER_HOST",
                format!("unix://{}", Self::socket().display()),
            )
            .env_remove("DOCKER_CONTEXT");
        super::without_settings(&mut cmd);
        cmd
    }
}
