//! Free space on the filesystem that holds a path.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// What is known of the filesystem where `path` is (or will be: a directory
/// not made yet lives on its nearest existing parent's filesystem).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    /// Bytes this user may still write.
    pub free: u64,
    /// The filesystem's device: two paths with the same one share `free`.
    pub device: u64,
}

/// The filesystem of `path`, or None when it could not be read.
pub fn space(path: &Path) -> Option<Space> {
    let existing = path.ancestors().find(|p| p.exists())?;
    let st = nix::sys::statvfs::statvfs(existing).ok()?;
    let device = std::fs::metadata(existing).ok()?.dev();
    Some(Space {
        free: st.blocks_available() * st.fragment_size().max(1),
        device,
    })
}

/// `bytes` in gigabytes, as messages show them ("12.3 GB").
pub fn gb(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_not_made_yet_is_on_its_parents_filesystem() {
        let dir = tempfile::tempdir().unwrap();
        let here = space(dir.path()).unwrap();
        let later = space(&dir.path().join("not/made/yet")).unwrap();
        assert_eq!(here.device, later.device);
        assert!(here.free > 0);
    }

    #[test]
    fn gigabytes_have_one_decimal() {
        assert_eq!(gb(12_345_000_000), "12.3 GB");
        assert_eq!(gb(0), "0.0 GB");
    }
}
