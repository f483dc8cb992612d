//! `registry` and `push`: the cluster's local registry.

use anyhow::Result;

use super::{connect, plan_without_version};

use crate::artifacts::Cache;
use crate::cluster::Ctx;
use crate::engine::Engine;
use crate::output;
use crate::settings::Settings;
use crate::ui::Ui;

/// `registry`: start the cluster's local registry if needed, make it a
/// mirror of `mirrors`, configure the nodes, and say how to use it.
pub async fn registry(settings: &Settings, ui: &Ui, mirrors: Vec<String>) -> Result<()> {
    let engine = connect(settings, ui).await?;
    registry_on(settings, ui, &engine, &mirrors).await
}

/// `registry` on `engine`.
pub(super) async fn registry_on<E: Engine>(
    settings: &Settings,
    ui: &Ui,
    engine: &E,
    mirrors: &[String],
) -> Result<()> {
    let plan = plan_without_version(settings);
    let cx = Ctx::new(engine, &plan, ui);
    let cache = Cache::new(&settings.cache_dir);
    let image = crate::registry::ImagePlan {
        source: settings.image_source,
        cache: &cache,
    };
    let step = ui.step(format!("Starting the registry of cluster {:?}", plan.name));
    let reg = crate::registry::ensure(cx, settings.registry_port, &image).await?;
    for upstream in mirrors {
        crate::registry::mirror(cx, upstream).await?;
    }
    step.done();
    let host = reg.host();
    let flag = plan.cluster_flag();
    ui.info(format!(
        "Registry {host} is up (container {}; its images stay until `local-cluster clean{flag}`).\n\
         Push:  local-cluster push{flag} IMAGE...   (stored as {host}/NAME:TAG)\n\
         \x20  or: docker tag IMAGE {host}/NAME:TAG && docker push {host}/NAME:TAG\n\
         Use:   image: {host}/NAME:TAG in pod specs",
        reg.container
    ));
    let all = crate::registry::mirrors(cx, &reg).await?;
    if !all.is_empty() {
        ui.info(format!(
            "Nodes look in it first for images of {} (push them with their full names).",
            all.join(", ")
        ));
    }
    output::line(&host)?;
    Ok(())
}

/// `push`: copy images from the Docker engine, or from a `docker save`
/// archive, into the cluster's registry.
pub async fn push(
    settings: &Settings,
    ui: &Ui,
    images: Vec<String>,
    archive: Option<std::path::PathBuf>,
) -> Result<()> {
    let engine = connect(settings, ui).await?;
    push_on(settings, ui, &engine, &images, archive.as_deref()).await
}

/// `push` on `engine`.
pub(super) async fn push_on<E: Engine>(
    settings: &Settings,
    ui: &Ui,
    engine: &E,
    images: &[String],
    archive: Option<&std::path::Path>,
) -> Result<()> {
    let plan = plan_without_version(settings);
    let cx = Ctx::new(engine, &plan, ui);
    let pushed = match archive {
        None => {
            let step = ui.step(format!("Pushing {} to the registry", images.join(", ")));
            let pushed = crate::registry::push(cx, images).await?;
            step.done();
            pushed
        }
        Some(archive) => {
            let step = ui.step(format!(
                "Pushing the images of {} to the registry",
                archive.display()
            ));
            let registry = crate::registry::running(cx).await?;
            let pushed = crate::registry::push_archive(cx, &registry, archive, images).await?;
            step.done();
            pushed
        }
    };
    for name in pushed {
        output::line(name)?;
    }
    Ok(())
}
