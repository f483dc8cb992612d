//! `down`, `clean`, `logs` and `load`.

use anyhow::{Context, Result};

use super::{connect, lock_cluster, plan_without_version};

use crate::artifacts::Cache;
use crate::cluster::Ctx;
use crate::engine::{Docker, Engine, RemoveImage};
use crate::images::node as node_image;
use crate::labels::{LABEL_ROLE, ROLE_NODE_IMAGE, ROLE_REGISTRY_IMAGE};
use crate::ops::lifecycle;
use crate::output;
use crate::settings::Settings;
use crate::ui::Ui;

pub async fn down(settings: &Settings, ui: &Ui) -> Result<()> {
    down_on(settings, ui, &connect(settings, ui).await?).await
}

/// `down` on `engine`, under the cluster's lock (which it takes).
pub(super) async fn down_on<E: Engine>(settings: &Settings, ui: &Ui, engine: &E) -> Result<()> {
    let _lock = lock_cluster(settings, ui, engine, "down").await?;
    down_locked(settings, ui, engine).await
}

/// `down` for a caller that holds the cluster's lock.
pub(super) async fn down_locked<E: Engine>(settings: &Settings, ui: &Ui, engine: &E) -> Result<()> {
    let plan = plan_without_version(settings);
    lifecycle::down(Ctx::new(engine, &plan, ui)).await?;
    Ok(())
}

/// `clean`; `all` also removes node images and the build cache.
pub async fn clean(settings: &Settings, ui: &Ui, all: bool) -> Result<()> {
    clean_on(settings, ui, &connect(settings, ui).await?, all).await
}

/// `clean` on `engine`, under the cluster's lock (which it takes).
pub(super) async fn clean_on<E: Engine>(
    settings: &Settings,
    ui: &Ui,
    engine: &E,
    all: bool,
) -> Result<()> {
    let command = if all { "clean --all" } else { "clean" };
    let _lock = lock_cluster(settings, ui, engine, command).await?;
    clean_locked(settings, ui, engine, all).await
}

/// `clean` for a caller that holds the cluster's lock.
pub(super) async fn clean_locked<E: Engine>(
    settings: &Settings,
    ui: &Ui,
    engine: &E,
    all: bool,
) -> Result<()> {
    let plan = plan_without_version(settings);
    let step = ui.step(format!(
        "Removing cluster {:?}: containers, snapshot, volumes, network",
        plan.name
    ));
    let cx = Ctx::new(engine, &plan, ui);
    lifecycle::clean(cx).await?;
    // Named snapshots outlive `clean`, not `clean --all`.
    let named = if all {
        crate::ops::snapshots::remove_all(cx).await?
    } else {
        Vec::new()
    };
    // Node images replaced by newer builds while this cluster used them.
    node_image::remove_superseded(engine).await?;
    step.done();
    if !named.is_empty() {
        ui.info(format!(
            "Removed the named snapshots: {}.",
            named.join(", ")
        ));
    }
    if !all {
        let kept = crate::cluster::steps::named::list(cx).await?;
        if !kept.is_empty() {
            let names: Vec<&str> = kept.iter().map(|s| s.name.as_str()).collect();
            ui.info(format!(
                "Kept the named snapshots of cluster {:?}: {} (`local-cluster snapshot rm NAME{}` \
                 or `clean --all` removes them).",
                plan.name,
                names.join(", "),
                plan.cluster_flag()
            ));
        }
    }
    if all {
        let step = ui.step("Removing node images and the build cache");
        let mut images = engine.list_images(&[(LABEL_ROLE, ROLE_NODE_IMAGE)]).await?;
        images.extend(
            engine
                .list_images(&[(LABEL_ROLE, ROLE_REGISTRY_IMAGE)])
                .await?,
        );
        // Children first: the bare image is the base of the others.
        images.sort_by_key(|i| i.tags.iter().any(|t| t.contains("node-bare")));
        for image in images {
            match engine.remove_image(&image.id, RemoveImage::Force).await {
                Ok(()) => {}
                Err(e) if e.is_conflict() => ui.warn(format!(
                    "kept {}: other clusters' snapshots or registries use it (clean those clusters first)",
                    image.tags.join(", ")
                )),
                Err(e) => return Err(e.into()),
            }
        }
        Cache::new(&settings.cache_dir)
            .remove_all()
            .with_context(|| format!("removing {}", settings.cache_dir.display()))?;
        step.done();
    }
    Ok(())
}

/// Collect node and kubeadm logs into `dir` (a new temporary directory when None).
pub async fn export_logs(
    settings: &Settings,
    ui: &Ui,
    dir: Option<std::path::PathBuf>,
) -> Result<()> {
    let engine = connect(settings, ui).await?;
    export_logs_from(settings, ui, &engine, dir).await
}

/// `logs` from `engine`.
pub(super) async fn export_logs_from<E: Engine>(
    settings: &Settings,
    ui: &Ui,
    engine: &E,
    dir: Option<std::path::PathBuf>,
) -> Result<()> {
    let plan = plan_without_version(settings);
    let dir = match dir {
        Some(d) => d,
        None => tempfile::Builder::new()
            .prefix("local-cluster-logs-")
            .tempdir()?
            .keep(),
    };
    let step = ui.step(format!("Collecting logs into {}", dir.display()));
    let files = crate::ops::logs::export(Ctx::new(engine, &plan, ui), &dir).await?;
    step.done();
    if files == 0 {
        ui.warn(format!(
            "cluster {:?} has no running nodes; nothing collected",
            plan.name
        ));
    }
    output::line(dir.display())?;
    Ok(())
}

/// Copy images from the Docker engine (or the local one, for a remote
/// engine) and archives into every node's containerd.
pub async fn load_images(
    settings: &Settings,
    ui: &Ui,
    request: crate::ops::load::LoadRequest,
) -> Result<()> {
    let engine = connect(settings, ui).await?;
    // An image built on this machine is in the local engine, not the remote
    // one; without a local engine only the remote's images can be loaded.
    let local = if engine.endpoint().is_remote() {
        local_engine(ui).await
    } else {
        None
    };
    load_into(settings, ui, &engine, &request, local.as_ref()).await
}

/// `load` into the nodes `engine` runs, taking images from `local` where
/// given (the engine on this machine, when `engine` is remote).
pub(super) async fn load_into<E: Engine, L: Engine>(
    settings: &Settings,
    ui: &Ui,
    engine: &E,
    request: &crate::ops::load::LoadRequest,
    local: Option<&L>,
) -> Result<()> {
    let plan = plan_without_version(settings);
    let mut what = request.images.clone();
    what.extend(request.archives.iter().map(|a| a.display().to_string()));
    let step = ui.step(format!("Loading {} into the nodes", what.join(", ")));
    crate::ops::load::load_images(Ctx::new(engine, &plan, ui), request, local).await?;
    step.done();
    Ok(())
}

/// The engine on this machine's default socket, when there is one.
pub(super) async fn local_engine(ui: &Ui) -> Option<Docker> {
    let endpoint = crate::engine::endpoint::local();
    match Docker::connect_to(endpoint, &[]).await {
        Ok(engine) => Some(engine),
        Err(e) => {
            ui.note(format!("no local Docker engine to take images from: {e}"));
            None
        }
    }
}
