//! `up`: refuse what cannot work before anything is made, make sure of the
//! node image, prepare the pod network and addons, run `ops::up`, and say
//! how to use the cluster.

use std::time::Instant;

use anyhow::{bail, Context, Result};

use super::images::{ensure_node_image, explain_no_space, node_arch, node_image_plan, versions};
use super::{connect, lock_cluster};

use crate::artifacts::Cache;
use crate::cluster::state::plan::ClusterPlan;
use crate::cluster::Ctx;
use crate::engine::{Engine, EngineInfo};
use crate::images::node as node_image;
use crate::images::BuildContext;
use crate::ops::lifecycle;
use crate::ops::up::{NodeImageRef, UpOutcome};
use crate::output;
use crate::settings::{ImageSourceSetting, Settings};
use crate::ui::{seconds, Ui};

pub(super) fn print_hints(plan: &ClusterPlan) -> Result<(), output::WriteError> {
    output::line(format_args!(
        "export KUBECONFIG={}",
        plan.admin_conf().display()
    ))?;
    output::line(format_args!(
        "alias kubectl={}",
        plan.kubectl_path().display()
    ))
}

/// Narrow the home directories an older version made 0755 (what is in them,
/// admin.conf and e2e results, is then out of others' reach too; see
/// [`crate::private`]). Not fatal: the user may have set them so.
pub(super) fn keep_home_private(settings: &Settings, plan: &ClusterPlan, ui: &Ui) {
    for dir in [&settings.home_dir, &plan.home_dir] {
        match crate::private::narrow(dir, crate::private::DIR_MODE) {
            Ok(true) => ui.note(format!(
                "{} was open to other users; made it 0700",
                dir.display()
            )),
            Ok(false) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => ui.warn(format!("cannot make {} private (0700): {e}", dir.display())),
        }
    }
}

/// Refusals that need only the settings.
pub(super) fn refuse_unavailable(settings: &Settings) -> Result<()> {
    // A network whose images only a registry has, with images to be built:
    // said before the engine is asked or a node image is made.
    if let Some(network) = crate::cni::registry_only(settings.cni_plugin) {
        if settings.image_source == ImageSourceSetting::Build {
            return Err(anyhow::Error::new(network.not_buildable()).context(format!(
                "cluster.cniPlugin {} (from {}) with source.imageSource build (from {})",
                network.plugin,
                settings.provenance.source(crate::settings::Key::CniPlugin),
                settings
                    .provenance
                    .source(crate::settings::Key::ImageSource)
            )));
        }
    }
    Ok(())
}

/// Refusals that need the engine's facts.
pub(super) fn refuse_unservable(settings: &Settings, info: &EngineInfo) -> Result<()> {
    if let Some(runtime) = &settings.node_runtime {
        if !info.runtimes.contains(runtime) {
            let mut names: Vec<&str> = info.runtimes.iter().map(String::as_str).collect();
            names.sort_unstable();
            bail!(
                "node.runtime {runtime} (from {}) is not a runtime of this Docker engine, which has: {}",
                settings.provenance.source(crate::settings::Key::NodeRuntime),
                names.join(", ")
            );
        }
    }
    Ok(())
}

pub async fn up(settings: &Settings, ui: &Ui) -> Result<()> {
    refuse_unavailable(settings)?;
    up_on(settings, ui, &connect(settings, ui).await?).await
}

/// `up` on `engine`, under the cluster's lock (which it takes).
pub(super) async fn up_on<E: Engine>(settings: &Settings, ui: &Ui, engine: &E) -> Result<()> {
    refuse_unservable(settings, engine.info())?;
    let _lock = lock_cluster(settings, ui, engine, "up").await?;
    up_locked(settings, ui, engine).await
}

/// `up` for a caller that holds the cluster's lock (taking it again would
/// wait for itself: flock locks belong to open files, not processes).
pub(super) async fn up_locked<E: Engine>(settings: &Settings, ui: &Ui, engine: &E) -> Result<()> {
    let arch = node_arch(settings, engine.info());
    let versions = versions(settings, ui).await?;
    let plan = ClusterPlan::new(settings, versions.cluster());
    keep_home_private(settings, &plan, ui);
    // Before the node image: a running, healthy cluster needs none.
    if lifecycle::is_healthy(Ctx::new(engine, &plan, ui)).await? {
        lifecycle::say_running(Ctx::new(engine, &plan, ui));
        print_hints(&plan)?;
        return Ok(());
    }
    let node_image = node_image_for(settings, ui, engine, &plan, &versions).await?;
    let cx = Ctx::new(engine, &plan, ui);
    let start = Instant::now();
    let prepare = async || prepare_extras(engine, ui, settings, &arch, &plan).await;
    let outcome = crate::ops::up::up(cx, &node_image, prepare)
        .await
        .map_err(|e| match e {
            // Says it already, with the node.
            e @ crate::cluster::ClusterError::SnapshotNoSpace { .. } => e.into(),
            e => explain_no_space(e.into(), settings, engine, "bringing up the cluster"),
        })
        .with_context(|| {
            format!(
                "bringing up cluster {:?} failed; `local-cluster clean{}` removes what was created",
                plan.name,
                plan.cluster_flag()
            )
        })?;
    if !matches!(outcome, UpOutcome::AlreadyRunning | UpOutcome::Unpaused) {
        ui.info(format!(
            "Cluster {:?} is up: {} node{}, Kubernetes {}, {} in {}.",
            plan.name,
            plan.nodes.len(),
            if plan.nodes.len() == 1 { "" } else { "s" },
            plan.kubernetes_version,
            match outcome {
                UpOutcome::Restored => "restored",
                UpOutcome::Repaired => "repaired",
                UpOutcome::Unpaused => "unpaused",
                _ => "created",
            },
            seconds(start.elapsed())
        ));
    }
    print_hints(&plan)?;
    Ok(())
}

/// The node image `up` makes `plan`'s cluster from: the one of the
/// version, tagged again when only its tag was lost under a snapshot, else
/// built.
pub(super) async fn node_image_for<E: Engine>(
    settings: &Settings,
    ui: &Ui,
    engine: &E,
    plan: &ClusterPlan,
    versions: &super::images::Versions,
) -> Result<NodeImageRef> {
    let arch = node_arch(settings, engine.info());
    let image_plan = node_image_plan(settings, &arch, Some(versions));
    // A node image untagged under its snapshot is tagged again, not rebuilt.
    let reference = node_image::node_image_reference(&plan.kubernetes_version.to_string(), &arch);
    lifecycle::retag_orphaned_node_image(Ctx::new(engine, plan, ui), &reference, &arch).await?;
    let image = ensure_node_image(
        engine,
        ui,
        settings,
        &image_plan,
        node_image::Reuse::AnyForVersion,
    )
    .await?;
    let id = engine
        .inspect_image(&image)
        .await?
        .map(|i| i.id)
        .with_context(|| format!("node image {image} vanished"))?;
    Ok(NodeImageRef {
        reference: image,
        id,
        arch,
    })
}

/// `build images`: the pod network's and the addons' images a new cluster
/// of these settings installs, made (or pulled) into the cache without a
/// cluster, as `up` would make them first.
pub async fn build_images(settings: &Settings, ui: &Ui) -> Result<()> {
    let engine = connect(settings, ui).await?;
    build_images_on(settings, ui, &engine).await
}

pub(super) async fn build_images_on<E: Engine>(
    settings: &Settings,
    ui: &Ui,
    engine: &E,
) -> Result<()> {
    let start = Instant::now();
    let arch = node_arch(settings, engine.info());
    let plan = ClusterPlan::new(settings, versions(settings, ui).await?.cluster());
    let extras = prepare_extras(engine, ui, settings, &arch, &plan)
        .await
        .map_err(anyhow::Error::from_boxed)?;
    let mut made = Vec::new();
    if plan.cni.runs_as_pods() {
        made.push(format!("pod network {}", plan.cni.as_str()));
    }
    if !extras.addons.is_empty() {
        let names: Vec<String> = plan.addons.iter().map(|a| a.to_string()).collect();
        made.push(format!("addons {}", names.join(", ")));
    }
    if made.is_empty() {
        ui.info(format!(
            "Nothing to make: pod network {} and no addons need no image beyond the node image.",
            plan.cni.as_str()
        ));
    } else {
        ui.info(format!(
            "Images ready ({}): {}.",
            seconds(start.elapsed()),
            made.join("; ")
        ));
    }
    Ok(())
}

/// What a new cluster installs beyond kubeadm's: the pod network's manifest
/// and images (a plugin whose images cannot be had stops `up` before
/// anything is created) and the addons (those that cannot be had are left
/// out with a warning).
pub(crate) async fn prepare_extras<E: Engine>(
    engine: &E,
    ui: &Ui,
    settings: &Settings,
    arch: &str,
    plan: &ClusterPlan,
) -> std::result::Result<crate::ops::up::Extras, crate::ops::up::PrepareError> {
    let cache = Cache::new(&settings.cache_dir);
    let build = BuildContext {
        engine,
        ui,
        cache: &cache,
        arch,
        image_source: settings.image_source,
        debian_mirror: &settings.debian_mirror,
    };
    let mut extras = crate::ops::up::Extras::default();
    if plan.cni.runs_as_pods() {
        let step = ui.step(format!(
            "Preparing the pod network ({}): manifest and images",
            plan.cni.as_str()
        ));
        let inputs = crate::cni::Inputs {
            build,
            pod_subnet: plan.pod_subnet,
            service_subnet: plan.service_subnet,
            api_server: std::net::SocketAddrV4::new(
                plan.master().ip,
                crate::cluster::steps::kubeadm::API_PORT,
            ),
        };
        extras.pod_network = crate::cni::prepare(plan.cni, &inputs)
            .await
            .with_context(|| {
                format!(
                    "preparing the {} pod network (cluster.cniPlugin, from {})",
                    plan.cni.as_str(),
                    settings.provenance.source(crate::settings::Key::CniPlugin)
                )
            })?;
        step.done();
    }
    if !plan.addons.is_empty() {
        let names: Vec<String> = plan.addons.iter().map(|a| a.to_string()).collect();
        let step = ui.step(format!(
            "Preparing addons ({}): manifests and images",
            names.join(", ")
        ));
        let inputs = crate::addons::Inputs {
            build,
            headlamp_manifest: crate::addons::headlamp::MANIFEST_URL,
        };
        extras.addons = crate::addons::prepare(&plan.addons, &inputs)
            .await
            .with_context(|| {
                format!(
                    "cluster.addons (from {})",
                    settings.provenance.source(crate::settings::Key::Addons)
                )
            })?;
        step.done();
    }
    Ok(extras)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runtime_the_engine_lacks_is_refused_naming_the_ones_it_has() {
        let settings = crate::cluster::tests::settings(&[("K8S_DIND_NODE_RUNTIME", "sysbox-runc")]);
        let info = EngineInfo {
            runtimes: vec!["runc".into(), "io.containerd.runc.v2".into()],
            ..Default::default()
        };
        let err = refuse_unservable(&settings, &info).unwrap_err().to_string();
        assert_eq!(
            err,
            "node.runtime sysbox-runc (from env K8S_DIND_NODE_RUNTIME) is not a runtime of this \
             Docker engine, which has: io.containerd.runc.v2, runc"
        );
        let info = EngineInfo {
            runtimes: vec!["sysbox-runc".into()],
            ..Default::default()
        };
        assert!(refuse_unservable(&settings, &info).is_ok());
    }

    use crate::engine::fake::FakeEngine;
    use crate::ops::tests::scene::{scene, Scene, NODES, NODE_IMAGE};

    async fn up(s: &Scene) -> String {
        let ui = Ui::recording(2);
        up_locked::<FakeEngine>(&s.settings, &ui, &s.fake)
            .await
            .unwrap();
        format!("{:#?}", ui.events())
    }

    #[tokio::test(start_paused = true)]
    async fn up_uses_the_node_image_of_the_version_and_makes_the_cluster() {
        let s = scene(&[]);
        let events = up(&s).await;
        assert!(
            events.contains(&format!("using node image {NODE_IMAGE}")),
            "{events}"
        );
        assert!(
            events.contains("Cluster \\\"c\\\" is up: 3 nodes, Kubernetes v1.37.2"),
            "{events}"
        );
        assert_eq!(s.fake.container_names(), NODES);
        assert_eq!(s.snapshot_images().len(), 3);
        // Again: healthy, so neither the node image nor the cluster is touched.
        let calls = s.fake.calls().len();
        let events = up(&s).await;
        assert!(
            events.contains("is already running; nothing changed"),
            "{events}"
        );
        assert!(!events.contains("using node image"), "{events}");
        assert!(s.fake.calls()[calls..]
            .iter()
            .all(|c| !c.starts_with("create")));
    }

    #[tokio::test(start_paused = true)]
    async fn a_node_image_untagged_under_its_snapshot_is_tagged_again_and_restored() {
        let s = Scene::made_and_down(&[]).await;
        s.fake.untag(NODE_IMAGE);
        let events = up(&s).await;
        assert!(
            events.contains("was missing, but the image the snapshot"),
            "{events}"
        );
        assert!(events.contains("Restoring cluster"), "{events}");
        assert_eq!(s.fake.container_names(), NODES);
    }
}
