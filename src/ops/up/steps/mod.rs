//! The steps of `up`, one file each; [`paths`](super::paths) lists which
//! path runs which.

/// A unit struct `$step` that is the [`Step`](super::job::Step) named `$name`,
/// carried out by the async function `$run(cx, job)`.
macro_rules! step {
    ($step:ident, $name:literal, $run:path) => {
        pub struct $step;

        impl<E: crate::engine::Engine> crate::ops::up::job::Step<E> for $step {
            fn name(&self) -> &'static str {
                $name
            }

            fn run<'a>(
                &'a self,
                cx: crate::cluster::Ctx<'a, E>,
                job: &'a mut crate::ops::up::job::Job<'_>,
            ) -> futures_util::future::LocalBoxFuture<'a, crate::cluster::Result<()>> {
                Box::pin($run(cx, job))
            }
        }
    };
}

mod addons;
mod certificates;
mod control_plane;
mod files;
mod finished;
mod inotify;
mod join;
mod network;
mod network_join;
mod nodes;
mod pod_network;
mod prepare;
mod ready;
mod registry;
mod remove_old;
mod replace;
mod restart_units;
mod restoring;
mod run_mode;
mod service_guard;
mod snapshot;

#[cfg(test)]
mod tests;

pub use addons::Addons;
pub use certificates::RenewCertificates;
pub use control_plane::InitControlPlane;
pub use files::ExportFiles;
pub use finished::MarkFinished;
pub use inotify::InotifyLimit;
pub use network::Network;
pub use network_join::PodNetworkAndJoin;
pub use nodes::StartNodes;
pub use prepare::PrepareExtras;
pub use ready::WaitReady;
pub use registry::RegistryNodes;
pub use remove_old::RemoveOld;
pub use replace::ReplaceNodes;
pub use restart_units::RestartUnits;
pub use restoring::SayRestoring;
pub use run_mode::DecideRunMode;
pub use service_guard::ServiceGuard;
pub use snapshot::SaveSnapshot;
