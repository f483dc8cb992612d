//! `reup`, and `source`: Kubernetes from a source tree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use super::images::{node_arch, versions};
use super::up::{keep_home_private, print_hints, refuse_unavailable, refuse_unservable};
use super::{connect, lock_cluster};
use crate::artifacts::{Binaries, Cache};
use crate::cluster::state::plan::ClusterPlan;
use crate::cluster::state::snapshot::{SnapshotFields, SnapshotState};
use crate::cluster::steps::snapshot;
use crate::cluster::Ctx;
use crate::engine::Engine;
use crate::images::components::{self, Component, ComponentInputs, WantedImage};
use crate::images::rootfs::{self, BaseSystem};
use crate::images::BuildContext;
use crate::ops::lifecycle;
use crate::ops::reup::{self, Binary, Image, NodeReport, Sameness, Swap};
use crate::ops::up::NodeImageRef;
use crate::settings::{KubeVersion, Settings};
use crate::source;
use crate::ui::{seconds, Ui};

/// `reup`: build what the `build*` settings select in the source tree and
/// swap it into the running cluster. Not running: restore the snapshot and
/// swap into that; without a usable snapshot, `up` with the build.
pub async fn reup(settings: &Settings, ui: &Ui) -> Result<()> {
    if !settings.any_build() {
        bail!(
            "reup rebuilds Kubernetes from the source tree ({}), but no build setting says \
             what to build: give --build-hyperkube (kubelet, control plane, kube-proxy), \
             --build-kubeadm and/or --build-kubectl (or set source.buildHyperkube, ... in \
             config.yaml, or K8S_DIND_BUILD_HYPERKUBE, ...)",
            settings.k8s_dir.display()
        );
    }
    refuse_unavailable(settings)?;
    reup_on(settings, ui, &connect(settings, ui).await?).await
}

/// `reup` on `engine`, under the cluster's lock (which it takes).
pub(super) async fn reup_on<E: Engine>(settings: &Settings, ui: &Ui, engine: &E) -> Result<()> {
    refuse_unservable(settings, engine.info())?;
    let _lock = lock_cluster(settings, ui, engine, "reup").await?;
    reup_locked(settings, ui, engine).await
}

/// `reup` for a caller that holds the cluster's lock.
async fn reup_locked<E: Engine>(settings: &Settings, ui: &Ui, engine: &E) -> Result<()> {
    let arch = node_arch(settings, engine.info());
    let versions = versions(settings, ui).await?;
    let tree = versions
        .tree
        .as_ref()
        .expect("build settings come with a tree");
    let plan = ClusterPlan::new(settings, versions.cluster());
    keep_home_private(settings, &plan, ui);
    let cx = Ctx::new(engine, &plan, ui);

    let running = lifecycle::is_running(cx).await?;
    let restorable = if running {
        None
    } else {
        restorable_snapshot(cx).await?
    };
    if !running && restorable.is_none() {
        ui.info(format!(
            "Cluster {:?} is not running and has no snapshot to swap the build into: \
             bringing it up with the build.",
            plan.name
        ));
        return super::up::up_locked(settings, ui, engine).await;
    }

    // The build first: when it fails, nothing has been touched. What a
    // running cluster already runs the code of (only the version stamp
    // would differ) is neither built nor swapped.
    let start = Instant::now();
    let names = source::selected(
        settings.build_kubeadm,
        settings.build_hyperkube,
        settings.build_kubectl,
    );
    let code = source::fingerprint::of_commands(ui, &settings.k8s_dir, &names, &arch).await?;
    // What the nodes run: asked once, now if they run (nothing in them
    // changes while the tree builds), else after the restore.
    let reports = if running {
        Some(reup::reports(cx).await?)
    } else {
        None
    };
    let kept: Vec<&str> = match &reports {
        Some(nodes) => names
            .iter()
            .copied()
            .filter(|n| code.get(*n).is_some_and(|c| reup::runs_code(n, c, nodes)))
            .collect(),
        None => Vec::new(),
    };
    for name in &kept {
        ui.info(format!(
            "  {name}: the cluster runs this code already: kept"
        ));
    }
    let wanted: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !kept.contains(n))
        .collect();
    let built = if wanted.is_empty() {
        Vec::new()
    } else {
        source::build::build(ui, &settings.k8s_dir, &tree.version.stamp, &wanted, &arch).await?
    };
    let build_time = start.elapsed();

    let restored_plan;
    let cx = match restorable {
        None => cx,
        Some(version) => {
            restored_plan = ClusterPlan::new(settings, version.kubernetes);
            let cx = Ctx::new(engine, &restored_plan, ui);
            let prepare = async || {
                super::up::prepare_extras(engine, ui, settings, &arch, &restored_plan).await
            };
            crate::ops::up::up(cx, &version.node_image, prepare)
                .await
                .with_context(|| format!("restoring cluster {:?} failed", plan.name))?;
            cx
        }
    };

    let swap_start = Instant::now();
    let swapped = swap_in(
        cx,
        settings,
        &arch,
        tree.version.version(),
        &built,
        &code,
        reports,
    )
    .await?;
    ui.info(format!(
        "Cluster {:?} runs the build of {} ({}): {} (build {}, swap {}).",
        plan.name,
        settings.k8s_dir.display(),
        tree.version.version(),
        if swapped.is_empty() {
            "nothing had changed".to_string()
        } else {
            format!("swapped in {}", swapped.join(", "))
        },
        seconds(build_time),
        seconds(swap_start.elapsed())
    ));
    print_hints(&plan)?;
    Ok(())
}

/// The snapshot's own version and node image, when it was made for these
/// settings but for other Kubernetes binaries: a swap on top of it is
/// what reup wants, where `up` would make a new cluster.
struct Restorable {
    kubernetes: KubeVersion,
    node_image: NodeImageRef,
}

async fn restorable_snapshot<E: Engine>(cx: Ctx<'_, E>) -> Result<Option<Restorable>> {
    let SnapshotState::Complete { fields, .. } = snapshot::state(cx).await? else {
        return Ok(None);
    };
    let mut wanted = SnapshotFields::of(cx.plan, &fields.node_image);
    wanted.kubernetes_version = fields.kubernetes_version.clone();
    if wanted != *fields {
        cx.ui.note(format!(
            "the snapshot was made for other settings ({}): not reused",
            fields.describe_difference(&wanted)
        ));
        return Ok(None);
    }
    let Ok(kubernetes) = fields.kubernetes_version.parse() else {
        return Ok(None);
    };
    let arch = cx.engine.info().arch.clone();
    Ok(Some(Restorable {
        kubernetes,
        node_image: NodeImageRef {
            // Its id serves as a reference: the snapshot names the node
            // image it was made from by id.
            reference: fields.node_image.clone(),
            id: fields.node_image.clone(),
            arch,
        },
    }))
}

/// What of `built` differs from the cluster, images for what runs as
/// containers, and the swap; returns the names swapped. `code` is what
/// each binary was built from, without its version stamp; `reports` what
/// the nodes said they run, when already asked.
async fn swap_in<E: Engine>(
    cx: Ctx<'_, E>,
    settings: &Settings,
    arch: &str,
    version: &KubeVersion,
    built: &[(String, PathBuf)],
    code: &BTreeMap<String, String>,
    reports: Option<Vec<NodeReport>>,
) -> Result<Vec<String>> {
    let ui = cx.ui;
    if built.is_empty() {
        return Ok(Vec::new());
    }
    let step = ui.step("Comparing the build with what the cluster runs");
    let binaries = built
        .iter()
        .map(|(name, path)| {
            let mut binary = Binary::new(name, path.clone())?;
            binary.code = code.get(name).cloned();
            Ok(binary)
        })
        .collect::<Result<Vec<_>, crate::cluster::ClusterError>>()?;
    let nodes = match reports {
        Some(nodes) => nodes,
        None => reup::reports(cx).await?,
    };
    let compared = reup::changed(&binaries, &nodes);
    step.done();
    for (b, sameness) in &compared {
        let what = match sameness {
            Sameness::Other => "changed",
            Sameness::Same => "unchanged",
            Sameness::SameCode => "same code, only the version stamp differs: kept",
        };
        ui.info(format!("  {}: {what} ({})", b.name, &b.sha256[..12]));
    }
    let changed: Vec<Binary> = compared
        .into_iter()
        .filter(|(_, s)| *s == Sameness::Other)
        .map(|(b, _)| b)
        .collect();
    if changed.is_empty() {
        return Ok(Vec::new());
    }
    let images = images_for(cx, settings, arch, version, &changed).await?;
    reup::swap(
        cx,
        &Swap {
            binaries: changed.clone(),
            images,
        },
    )
    .await?;
    Ok(changed.into_iter().map(|b| b.name).collect())
}

/// Images for the changed binaries that run as containers, assembled like
/// the node image's, tagged with the version and the binary's hash.
async fn images_for<E: Engine>(
    cx: Ctx<'_, E>,
    settings: &Settings,
    arch: &str,
    version: &KubeVersion,
    changed: &[Binary],
) -> Result<BTreeMap<String, Image>> {
    let containers: Vec<&Binary> = changed
        .iter()
        .filter(|b| reup::STATIC_PODS.contains(&b.name.as_str()) || b.name == "kube-proxy")
        .collect();
    if containers.is_empty() {
        return Ok(BTreeMap::new());
    }
    let ui = cx.ui;
    let step = ui.step(format!(
        "Making images of {}",
        containers
            .iter()
            .map(|b| b.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let cache = Cache::new(&settings.cache_dir);
    let base = rootfs::build(ui, &BaseSystem::new(arch, &settings.debian_mirror), &cache).await?;
    let wanted: Vec<WantedImage> = containers
        .iter()
        .map(|b| {
            let tag = reup::image_tag(&version.to_string(), b);
            WantedImage {
                reference: format!("{}/{}:{tag}", cx.plan.image_repository, b.name),
                tag,
                component: Component::Kubernetes(b.name.clone()),
            }
        })
        .collect();
    let binaries = Binaries {
        version: version.clone(),
        files: containers
            .iter()
            .map(|b| (b.name.clone(), b.path.clone()))
            .collect(),
        origins: BTreeMap::new(),
        // Only container images of these binaries are made: no pause.
        source_tree: None,
    };
    let image_source = crate::artifacts::auto::image_source(
        ui,
        settings.image_source,
        &format!("{}/pause", settings.image_repository),
    )
    .await;
    let archives = components::make_images(
        &wanted,
        &ComponentInputs {
            build: BuildContext {
                engine: cx.engine,
                ui,
                cache: &cache,
                arch,
                image_source: image_source.into(),
                debian_mirror: &settings.debian_mirror,
            },
            base: &base,
            binaries: &binaries,
            image_source,
        },
    )
    .await?;
    step.done();
    Ok(containers
        .iter()
        .zip(wanted)
        .zip(archives)
        .map(|((b, w), archive)| {
            (
                b.name.clone(),
                Image {
                    reference: w.reference,
                    archive,
                },
            )
        })
        .collect())
}

/// `source DIR`: a Kubernetes source tree for the configured version, put
/// together from the Go module proxy.
pub async fn source_tree(settings: &Settings, ui: &Ui, dir: &Path) -> Result<()> {
    let version = super::images::resolve_version(settings, ui).await?;
    let start = Instant::now();
    let made = source::assemble::assemble(ui, &version, dir).await?;
    ui.info(format!(
        "Kubernetes {version} source tree in {} ({}), made in {}.",
        dir.display(),
        if made.committed {
            format!("a git checkout, tagged {version}")
        } else {
            "not a git checkout: git is not installed".to_string()
        },
        seconds(start.elapsed())
    ));
    if !made.dropped.is_empty() {
        ui.info(format!(
            "Not on the Go module proxy, so left out of go.work: {}.",
            made.dropped.join(", ")
        ));
    }
    ui.info(format!(
        "Build clusters from it with --k8s-dir {} and --build-hyperkube, --build-kubeadm or \
         --build-kubectl; `local-cluster reup` swaps a rebuild into the running cluster.",
        dir.display()
    ));
    Ok(())
}
