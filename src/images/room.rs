//! Is there room for a node image build? Asked before its long steps, so that
//! a full disk stops it at the start with what to do, not after twenty
//! minutes of building.
//!
//! What a first build from nothing wrote here (Kubernetes v1.37.2 from its
//! Go module, etcd, CoreDNS and pause built too; the cold CI run of
//! 2026-12-06 at 3cef545, measured with `du`): 5.1 GB of Go build cache,
//! 2.2 GB of Go modules, 1.1 GB of the tool's cache and 1.2 GB in the
//! engine's data root. The needs below add about a fifth for the files a
//! build writes and removes and for larger versions.

use std::path::{Path, PathBuf};

use crate::disk::{gb, Space};

/// Bytes a first build writes in each place.
pub const TOOL_CACHE: u64 = 1_500_000_000;
pub const GO_BUILD_CACHE: u64 = 6_000_000_000;
pub const GO_MODULES: u64 = 2_700_000_000;
pub const ENGINE_DATA: u64 = 2_000_000_000;
/// All of it, where one filesystem holds every place (the usual case).
pub const FIRST_BUILD: u64 = TOOL_CACHE + GO_BUILD_CACHE + GO_MODULES + ENGINE_DATA;

/// A place a build writes to, how much, and how to put it elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// "the tool's cache", "Go's build cache".
    pub what: &'static str,
    pub path: PathBuf,
    pub bytes: u64,
    /// How a user moves it to another disk.
    pub moved_by: &'static str,
}

/// Where `needs` share a filesystem their bytes add up: the first
/// filesystem with less free than its needs, as a message naming each place
/// and how to move it; None when everything fits. Places whose filesystem
/// could not be read are not judged.
pub fn shortfall(needs: &[(Need, Option<Space>)]) -> Option<String> {
    let mut devices: Vec<u64> = Vec::new();
    for (_, space) in needs {
        if let Some(s) = space {
            if !devices.contains(&s.device) {
                devices.push(s.device);
            }
        }
    }
    devices.into_iter().find_map(|device| {
        let here: Vec<(&Need, Space)> = needs
            .iter()
            .filter_map(|(n, s)| s.filter(|s| s.device == device).map(|s| (n, s)))
            .collect();
        let wanted: u64 = here.iter().map(|(n, _)| n.bytes).sum();
        let free = here[0].1.free;
        (free < wanted).then(|| {
            let places: Vec<String> = here
                .iter()
                .map(|(n, _)| format!("{} {} ({})", n.what, n.path.display(), gb(n.bytes)))
                .collect();
            let moves: Vec<&str> = here.iter().map(|(n, _)| n.moved_by).collect();
            format!(
                "not enough free disk for building the node image: it writes about {} on the \
                 filesystem of {}, which has {} free. Free space there, or move what is named \
                 to a larger disk ({})",
                gb(wanted),
                places.join(", "),
                gb(free),
                moves.join("; ")
            )
        })
    })
}

/// The places of a build: the tool's cache always, Go's caches when Go
/// builds something (`go_caches`: GOCACHE and GOMODCACHE), the engine's
/// data root when it is on this machine.
pub fn needs(
    cache: &Path,
    go_caches: Option<(&Path, &Path)>,
    data_root: Option<&Path>,
) -> Vec<Need> {
    let mut out = vec![Need {
        what: "the tool's cache",
        path: cache.to_path_buf(),
        bytes: TOOL_CACHE,
        moved_by: "--cache-dir, K8S_DIND_CACHE_DIR or cacheDir for the tool's cache",
    }];
    if let Some((build, modules)) = go_caches {
        out.push(Need {
            what: "Go's build cache",
            path: build.to_path_buf(),
            bytes: GO_BUILD_CACHE,
            moved_by: "GOCACHE for Go's build cache",
        });
        out.push(Need {
            what: "Go's module cache",
            path: modules.to_path_buf(),
            bytes: GO_MODULES,
            moved_by: "GOMODCACHE for Go's module cache",
        });
    }
    if let Some(root) = data_root {
        out.push(Need {
            what: "the engine's data root",
            path: root.to_path_buf(),
            bytes: ENGINE_DATA,
            moved_by: "the engine's data-root in its daemon.json for the engine's images",
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(device: u64, free: u64) -> Option<Space> {
        Some(Space { free, device })
    }

    fn go() -> Option<(&'static Path, &'static Path)> {
        Some((
            Path::new("/root/.cache/go-build"),
            Path::new("/root/go/pkg/mod"),
        ))
    }

    #[test]
    fn places_on_one_disk_add_up() {
        let needs = needs(Path::new("/root/.cache/lc"), go(), None);
        let total = TOOL_CACHE + GO_BUILD_CACHE + GO_MODULES;
        let on_one = |free| {
            needs
                .iter()
                .map(|n| (n.clone(), space(1, free)))
                .collect::<Vec<_>>()
        };
        assert_eq!(shortfall(&on_one(total)), None);
        let msg = shortfall(&on_one(total - 1)).unwrap();
        assert!(msg.contains(&format!("about {}", gb(total))), "{msg}");
        assert!(msg.contains("/root/.cache/go-build"), "{msg}");
        assert!(msg.contains("GOMODCACHE"), "{msg}");
        assert!(msg.contains("--cache-dir"), "{msg}");
    }

    #[test]
    fn each_disk_is_judged_by_what_it_holds() {
        let needs = needs(
            Path::new("/big/cache"),
            None,
            Some(Path::new("/var/lib/docker")),
        );
        // The cache's disk has room; the engine's does not.
        let judged = vec![
            (needs[0].clone(), space(1, TOOL_CACHE)),
            (needs[1].clone(), space(2, ENGINE_DATA / 2)),
        ];
        let msg = shortfall(&judged).unwrap();
        assert!(msg.contains("/var/lib/docker"), "{msg}");
        assert!(!msg.contains("/big/cache"), "{msg}");
        assert!(msg.contains("daemon.json"), "{msg}");
    }

    #[test]
    fn unreadable_places_are_not_judged() {
        let needs = needs(Path::new("/x"), go(), None);
        let judged: Vec<_> = needs.into_iter().map(|n| (n, None)).collect();
        assert_eq!(shortfall(&judged), None);
    }

    #[test]
    fn go_caches_only_when_go_builds() {
        assert_eq!(needs(Path::new("/x"), None, None).len(), 1);
        assert_eq!(needs(Path::new("/x"), go(), None).len(), 3);
    }
}
