//! Entry points for the commands. The CLI parses and resolves settings, then
//! calls exactly one of these with the output; they turn settings into plans,
//! connect to the engine and run the steps.

use anyhow::Result;

use crate::cluster::state::plan::ClusterPlan;
use crate::engine::{Docker, Engine};
use crate::ops::lock::{self, ClusterLock};
use crate::settings::{KubeVersion, Settings};
use crate::ui::Ui;

pub mod command;
mod dashboard;
mod doctor;
mod e2e;
mod exit;
mod images;
pub mod interrupt;
mod nodes;
mod pause;
mod registry;
mod reup;
mod snapshots;
mod status;
#[cfg(test)]
mod tests;
mod up;
pub use dashboard::dashboard;
pub use doctor::doctor;
pub use e2e::{build_e2e, e2e};
pub use images::build_node_image;
pub use nodes::{clean, down, export_logs, load_images};
pub use pause::{pause, unpause};
pub use registry::{push, registry};
pub use reup::{reup, source_tree};
pub use snapshots::{
    list as snapshot_list, remove as snapshot_rm, restore as snapshot_restore,
    save as snapshot_save,
};
pub use status::status;
pub use up::{build_images, up};

/// Which images `build node-image` should make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeImageKind {
    /// With Kubernetes binaries and control-plane images inside.
    Full,
    /// Only the base system (systemd, containerd, CNI plugins), for source builds.
    Bare,
}

async fn connect(settings: &Settings, ui: &Ui) -> Result<Docker> {
    let engine = Docker::connect_with(&settings.ssh_options).await?;
    let info = engine.info();
    ui.note(format!(
        "Docker engine {} (API {}) at {} ({}): {}/{}, cgroup v{} ({} driver){}",
        info.server_version,
        info.api_version,
        engine.endpoint().host,
        engine.endpoint().origin,
        info.os_type,
        info.arch,
        info.cgroup_version,
        info.cgroup_driver,
        if info.rootless { ", rootless" } else { "" }
    ));
    Ok(engine)
}

/// Hold the cluster's lock for a command that changes the cluster
/// (`up`, `down`, `clean`, `reup`), waiting for another holder unless
/// `noWait` says otherwise.
async fn lock_cluster<E: Engine>(
    settings: &Settings,
    ui: &Ui,
    engine: &E,
    command: &str,
) -> Result<ClusterLock> {
    let request = lock::Request {
        dir: &settings.home_dir.join("locks"),
        cluster: &settings.cluster_name,
        engine_id: &engine.info().id,
        command: &format!("local-cluster {command}"),
        wait: !settings.no_wait,
        wait_source: settings
            .provenance
            .source(crate::settings::Key::NoWait)
            .to_string(),
    };
    Ok(lock::acquire(&request, ui).await?)
}

fn plan_without_version(settings: &Settings) -> ClusterPlan {
    // Removal and inspection need names only; the version does not matter.
    let version = KubeVersion {
        major: 0,
        minor: 0,
        patch: 0,
        pre: None,
    };
    ClusterPlan::new(settings, version)
}
