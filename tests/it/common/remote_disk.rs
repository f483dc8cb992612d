//! A test engine's disk: its data root's free space, filled and given
//! back (the full-disk tests of the resources tier).

use std::path::PathBuf;
use std::process::Command;

use super::remote::RemoteEngine;

impl RemoteEngine {
    /// The engine's data root, as this machine sees it.
    pub fn data_root(&self) -> PathBuf {
        self.path("data")
    }

    /// Bytes free on the data root's filesystem.
    pub fn data_root_free(&self) -> u64 {
        let out = Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(self.data_root())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines().nth(1).unwrap().trim().parse().unwrap()
    }

    /// Take all but `leave` bytes of the data root's free space with a
    /// file (beside the engine's directories, which it leaves alone).
    pub fn fill_data_root(&self, leave: u64) {
        // In pieces, each as large as still fits: a tmpfs may refuse one
        // large allocation that its free space would hold.
        let mut piece = 0;
        let mut chunk: u64 = 256 << 20;
        while chunk >= 4096 {
            let free = self.data_root_free().saturating_sub(leave);
            let size = chunk.min(free);
            if size < 4096 {
                break;
            }
            let file = self.data_root().join(format!("filler-{piece}"));
            let ok = Command::new("fallocate")
                .args(["-l", &size.to_string()])
                .arg(&file)
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                piece += 1;
            } else {
                let _ = std::fs::remove_file(&file);
                chunk /= 2;
            }
        }
    }

    /// Give back what [`RemoteEngine::fill_data_root`] took.
    pub fn free_data_root(&self) {
        for entry in std::fs::read_dir(self.data_root()).unwrap().flatten() {
            if entry.file_name().to_string_lossy().starts_with("filler-") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}
