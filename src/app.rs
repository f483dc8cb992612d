//! Entry points for the commands. The CLI parses and resolves settings, then
//! calls exactly one of these; they turn settings into plans and run the steps.

use std::time::Instant;

use anyhow::{Context, Result};

use crate::artifacts::{self, BinaryPlan, Cache, TreeBuild};
use crate::cluster;
use crate::cluster::lifecycle::{self, NodeImageRef, UpOutcome};
use crate::cluster::plan::{ClusterPlan, DEFAULT_CLUSTER};
use crate::engine::Engine;
use crate::images::node::{self as node_image, KubernetesContent, NodeImagePlan};
use crate::settings::{CniPlugin, KubeVersion, Settings};
use crate::ui::{seconds, ui};

/// Which images `build node-image` should make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeImageKind {
    /// With Kubernetes binaries and control-plane images inside.
    Full,
    /// Only the base system (systemd, containerd, CNI plugins), for source builds.
    Bare,
}

async fn connect() -> Result<Engine> {
    let engine = Engine::connect().await?;
    let info = engine.info();
    ui().note(format!(
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

fn node_arch(settings: &Settings, engine: &Engine) -> String {
    settings
        .arch
        .map(|a| a.as_str().to_string())
        .unwrap_or_else(|| engine.info().arch.clone())
}

async fn resolve_version(settings: &Settings) -> Result<KubeVersion> {
    Ok(artifacts::resolve_version(
        &settings.kubernetes_version,
        settings.kubernetes_source,
        &settings.release_url,
    )
    .await?)
}

fn node_image_plan(settings: &Settings, arch: &str, version: Option<KubeVersion>) -> NodeImagePlan {
    NodeImagePlan {
        arch: arch.to_string(),
        debian_mirror: settings.debian_mirror.clone(),
        kubernetes: version.map(|version| KubernetesContent {
            binaries: BinaryPlan {
                version,
                arch: arch.to_string(),
                source: settings.kubernetes_source,
                release_url: settings.release_url.clone(),
                kubeadm_url: settings.kubeadm_download.clone(),
                hyperkube_url: settings.hyperkube_download.clone(),
                kubectl_url: settings.kubectl_download.clone(),
                tree: settings.any_build().then(|| TreeBuild {
                    dir: settings.k8s_dir.clone(),
                    kubeadm: settings.build_kubeadm,
                    server: settings.build_hyperkube,
                    kubectl: settings.build_kubectl,
                }),
            },
            image_source: settings.image_source,
            image_repository: settings.image_repository.clone(),
        }),
    }
}

pub async fn build_node_image(settings: &Settings, kind: NodeImageKind) -> Result<()> {
    let engine = connect().await?;
    let cache = Cache::new(&settings.cache_dir);
    let arch = node_arch(settings, &engine);
    let version = match kind {
        NodeImageKind::Full => Some(resolve_version(settings).await?),
        NodeImageKind::Bare => None,
    };
    let start = Instant::now();
    let image = node_image::ensure(
        &engine,
        &node_image_plan(settings, &arch, version),
        &cache,
        true,
    )
    .await?;
    ui().info(format!(
        "Node image {} is ready ({}).",
        image,
        seconds(start.elapsed())
    ));
    println!("{image}");
    Ok(())
}

fn print_hints(plan: &ClusterPlan) {
    println!("export KUBECONFIG={}", plan.admin_conf().display());
    println!("alias kubectl={}", plan.kubectl_path().display());
}

pub async fn up(settings: &Settings) -> Result<()> {
    // Before anything is created: only the bridge pod network exists so far.
    if settings.cni_plugin != CniPlugin::Bridge {
        anyhow::bail!(
            "the {} pod network (cluster.cniPlugin, from {}) is not available yet; use bridge",
            settings.cni_plugin.as_str(),
            settings.provenance.source("cluster.cniPlugin")
        );
    }
    let engine = connect().await?;
    if let Some(runtime) = &settings.node_runtime {
        let known = &engine.info().runtimes;
        if !known.contains(runtime) {
            let mut names: Vec<&str> = known.iter().map(String::as_str).collect();
            names.sort_unstable();
            anyhow::bail!(
                "node.runtime {runtime} (from {}) is not a runtime of this Docker engine, which has: {}",
                settings.provenance.source("node.runtime"),
                names.join(", ")
            );
        }
    }
    let cache = Cache::new(&settings.cache_dir);
    let arch = node_arch(settings, &engine);
    let version = resolve_version(settings).await?;
    let plan = ClusterPlan::new(settings, version.clone());
    if lifecycle::is_running(&engine, &plan).await? {
        lifecycle::say_running(&plan);
        print_hints(&plan);
        return Ok(());
    }
    let image = node_image::ensure(
        &engine,
        &node_image_plan(settings, &arch, Some(version)),
        &cache,
        false,
    )
    .await?;
    let id = engine
        .inspect_image(&image)
        .await?
        .map(|i| i.id)
        .with_context(|| format!("node image {} vanished", image))?;
    let start = Instant::now();
    let outcome = lifecycle::up(
        &engine,
        &plan,
        &NodeImageRef {
            reference: image.clone(),
            id,
            arch,
        },
    )
    .await
    .with_context(|| {
        format!(
            "bringing up cluster {:?} failed; `local-cluster clean{}` removes what was created",
            plan.name,
            if plan.name == DEFAULT_CLUSTER {
                String::new()
            } else {
                format!(" --cluster-name {}", plan.name)
            }
        )
    })?;
    if outcome != UpOutcome::AlreadyRunning {
        ui().info(format!(
            "Cluster {:?} is up: {} node{}, Kubernetes {}, {} in {}.",
            plan.name,
            plan.nodes.len(),
            if plan.nodes.len() == 1 { "" } else { "s" },
            plan.kubernetes_version,
            if outcome == UpOutcome::Restored {
                "restored"
            } else {
                "created"
            },
            seconds(start.elapsed())
        ));
    }
    print_hints(&plan);
    Ok(())
}

pub async fn reup(_settings: &Settings) -> Result<()> {
    anyhow::bail!("`reup` is not implemented yet")
}

fn plan_without_version(settings: &Settings) -> ClusterPlan {
    // Removal needs names only; the version does not matter.
    let version = "v0.0.0".parse().expect("valid version");
    ClusterPlan::new(settings, version)
}

pub async fn down(settings: &Settings) -> Result<()> {
    let engine = connect().await?;
    lifecycle::down(&engine, &plan_without_version(settings)).await?;
    Ok(())
}

/// `clean`; `all` also removes node images and the build cache.
pub async fn clean(settings: &Settings, all: bool) -> Result<()> {
    let engine = connect().await?;
    let plan = plan_without_version(settings);
    let step = ui().step(format!(
        "Removing cluster {:?}: containers, snapshot, volumes, network",
        plan.name
    ));
    lifecycle::clean(&engine, &plan).await?;
    // Node images replaced by newer builds while this cluster used them.
    node_image::remove_superseded(&engine).await?;
    step.done();
    if all {
        let step = ui().step("Removing node images and the build cache");
        let mut images = engine
            .list_images(&[(crate::engine::LABEL_ROLE, "node-image")])
            .await?;
        // Children first: the bare image is the base of the others.
        images.sort_by_key(|(_, tags)| tags.iter().any(|t| t.contains("node-bare")));
        for (id, tags) in images {
            match engine.remove_image(&id).await {
                Ok(()) => {}
                Err(e) if e.is_conflict() => ui().warn(format!(
                    "kept {}: snapshots of other clusters are made from it (clean those clusters first)",
                    tags.join(", ")
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

pub async fn status(settings: &Settings) -> Result<()> {
    let engine = connect().await?;
    let plan = plan_without_version(settings);
    let nodes = cluster::node_containers(&engine, &plan).await?;
    let snapshot = cluster::snapshot::state(&engine, &plan).await?;
    if nodes.is_empty() {
        println!("cluster {}: not running", plan.name);
    } else {
        println!("cluster {}:", plan.name);
        for (name, running) in &nodes {
            println!("  {name}: {}", if *running { "running" } else { "stopped" });
        }
    }
    println!(
        "snapshot: {}",
        match snapshot {
            cluster::snapshot::SnapshotState::None => "none".to_string(),
            cluster::snapshot::SnapshotState::Complete { fields, .. } => format!(
                "Kubernetes {}, {} worker(s)",
                fields
                    .get("kubernetesVersion")
                    .map(String::as_str)
                    .unwrap_or("?"),
                fields.get("numNodes").map(String::as_str).unwrap_or("?")
            ),
            cluster::snapshot::SnapshotState::Damaged(why) => format!("damaged ({why})"),
        }
    );
    Ok(())
}

/// `e2e` (parallel) or `e2e-serial`; `focus` selects tests whose name contains it.
pub async fn e2e(_settings: &Settings, _serial: bool, _focus: Option<String>) -> Result<()> {
    anyhow::bail!("`e2e` is not implemented yet")
}

/// Collect node and kubeadm logs into `dir` (a new temporary directory when None).
pub async fn export_logs(settings: &Settings, dir: Option<std::path::PathBuf>) -> Result<()> {
    let engine = connect().await?;
    let plan = plan_without_version(settings);
    let dir = match dir {
        Some(d) => d,
        None => tempfile::Builder::new()
            .prefix("local-cluster-logs-")
            .tempdir()?
            .keep(),
    };
    let step = ui().step(format!("Collecting logs into {}", dir.display()));
    let files = cluster::logs::export(&engine, &plan, &dir).await?;
    step.done();
    if files == 0 {
        ui().warn(format!(
            "cluster {:?} has no running nodes; nothing collected",
            plan.name
        ));
    }
    println!("{}", dir.display());
    Ok(())
}

/// Copy images from the Docker engine into every node's containerd.
pub async fn load_images(settings: &Settings, images: Vec<String>) -> Result<()> {
    let engine = connect().await?;
    let plan = plan_without_version(settings);
    let step = ui().step(format!("Loading {} into the nodes", images.join(", ")));
    cluster::load::load_images(&engine, &plan, &images).await?;
    step.done();
    Ok(())
}
