//! The three paths of `up` as lists of named steps. A new step is a file in
//! [`steps`](super::steps) and a line in the lists that run it.
//!
//! admin.conf and kubectl are written as soon as admin.conf is final (after
//! init, or after certificates are renewed), before the waits: the cluster
//! comes up meanwhile, and a user whose wait fails has them to look.

use super::job::Step;
use super::steps::*;
use crate::engine::Engine;

/// A new cluster, from the network to its snapshot.
pub fn create<'s, E: Engine + 's>() -> Vec<&'s dyn Step<E>> {
    vec![
        &PrepareExtras,
        &RemoveOld,
        &Network,
        &DecideRunMode,
        &StartNodes,
        &InotifyLimit,
        &ServiceGuard,
        &InitControlPlane,
        &ExportFiles,
        &PodNetworkAndJoin,
        &WaitReady,
        &RegistryNodes,
        &Addons,
        &SaveSnapshot,
        &MarkFinished,
    ]
}

/// The cluster again from its snapshot: the nodes' images and /var volumes.
pub fn restore<'s, E: Engine + 's>() -> Vec<&'s dyn Step<E>> {
    vec![
        &SayRestoring,
        &Network,
        &DecideRunMode,
        &StartNodes,
        &RenewCertificates,
        &ExportFiles,
        &WaitReady,
        &RegistryNodes,
        &MarkFinished,
    ]
}

/// Broken nodes of a finished cluster brought back, the others untouched.
pub fn repair<'s, E: Engine + 's>() -> Vec<&'s dyn Step<E>> {
    vec![
        &RestartUnits,
        &ReplaceNodes,
        &RenewCertificates,
        &ExportFiles,
        &WaitReady,
        &RegistryNodes,
        &MarkFinished,
    ]
}

/// The names of a path's steps.
pub fn names<E: Engine>(steps: &[&dyn Step<E>]) -> Vec<&'static str> {
    steps.iter().map(|s| s.name()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fake::FakeEngine;

    #[test]
    fn a_new_cluster_is_made_by_these_steps() {
        assert_eq!(
            names(&create::<FakeEngine>()),
            [
                "prepare-extras",
                "remove-old",
                "network",
                "run-mode",
                "start-nodes",
                "inotify-limit",
                "service-guard",
                "init-control-plane",
                "export-files",
                "pod-network-and-join",
                "wait-ready",
                "registry-nodes",
                "addons",
                "save-snapshot",
                "mark-finished",
            ]
        );
    }

    #[test]
    fn a_restore_starts_the_snapshot_and_waits() {
        assert_eq!(
            names(&restore::<FakeEngine>()),
            [
                "say-restoring",
                "network",
                "run-mode",
                "start-nodes",
                "renew-certificates",
                "export-files",
                "wait-ready",
                "registry-nodes",
                "mark-finished",
            ]
        );
    }

    #[test]
    fn a_repair_touches_only_the_broken_nodes() {
        assert_eq!(
            names(&repair::<FakeEngine>()),
            [
                "restart-units",
                "replace-nodes",
                "renew-certificates",
                "export-files",
                "wait-ready",
                "registry-nodes",
                "mark-finished",
            ]
        );
    }
}
