//! Unit tests of the build cache: keys, commits, and damaged entries found.

use std::path::Path;

use super::check::MANIFEST;
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

#[test]
fn a_second_commit_of_an_entry_keeps_the_first_which_may_be_in_use() {
    // Two commands made the same entry at once (CI makes inputs ahead while
    // a test makes them too): the one that finishes second must not pull
    // the files from under the first, which is already using them.
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path());
    let key = CacheKey::new().with("x", 1);
    let entry = cache.entry("test", "thing", &key);
    let first = entry.stage().unwrap();
    let second = entry.stage().unwrap();
    std::fs::write(first.path("f"), b"first").unwrap();
    std::fs::write(second.path("f"), b"second").unwrap();
    let first = first.commit(&key).unwrap();
    let in_use = std::fs::File::open(first.path("f")).unwrap();
    let inode = std::os::unix::fs::MetadataExt::ino(&in_use.metadata().unwrap());
    let second = second.commit(&key).unwrap();
    assert_eq!(second.dir(), first.dir());
    assert!(second.is_complete());
    let now = std::fs::metadata(second.path("f")).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::ino(&now), inode, "replaced");
    assert_eq!(std::fs::read(second.path("f")).unwrap(), b"first");
    // The second's staging directory is gone.
    let names: Vec<_> = std::fs::read_dir(dir.path().join("test"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
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
