//! Entry points for the commands. The CLI parses and resolves settings, then
//! calls exactly one of these with the output; they turn settings into plans,
//! connect to the engine and run the steps.

use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::artifacts::{self, BinaryPlan, Cache, TreeBuild};
use crate::cluster::state::plan::ClusterPlan;
use crate::labels::{LABEL_ROLE, ROLE_NODE_IMAGE, ROLE_REGISTRY_IMAGE};
use crate::ops::lifecycle;
use crate::ops::lock::{self, ClusterLock};
use crate::ops::up::{NodeImageRef, UpOutcome};

use crate::cluster::Ctx;

use crate::engine::{Docker, Engine, EngineInfo, Images, RemoveImage};
use crate::images::node::{self as node_image, KubernetesContent, NodeImagePlan};
use crate::images::BuildContext;
use crate::output;
use crate::settings::{ImageSourceSetting, KubeVersion, Settings};
use crate::source::{self, TreeVersion};
use crate::ui::{seconds, Ui};

pub mod command;
mod dashboard;
mod e2e;
pub mod interrupt;
mod reup;
mod status;
pub use dashboard::dashboard;
pub use e2e::e2e;
pub use reup::{reup, source_tree};
pub use status::status;

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

fn node_arch(settings: &Settings, info: &EngineInfo) -> String {
    settings
        .arch
        .map(|a| a.as_str().to_string())
        .unwrap_or_else(|| info.arch.clone())
}

async fn resolve_version(settings: &Settings, ui: &Ui) -> Result<KubeVersion> {
    Ok(artifacts::resolve_version(
        ui,
        &settings.kubernetes_version,
        settings.kubernetes_source,
        &settings.release_url,
    )
    .await?)
}

/// The version the settings name and, with `build*` settings, the source
/// tree's.
struct Versions {
    /// Downloads and Go module builds are of this version.
    configured: KubeVersion,
    tree: Option<TreeChoice>,
}

impl Versions {
    /// The version the cluster runs: its server binaries'.
    fn cluster(&self) -> KubeVersion {
        match &self.tree {
            Some(tree) if tree.server => tree.version.version().clone(),
            _ => self.configured.clone(),
        }
    }
}

/// A source tree to build from, and what the settings ask it for.
struct TreeChoice {
    version: TreeVersion,
    server: bool,
}

async fn versions(settings: &Settings, ui: &Ui) -> Result<Versions> {
    let configured = resolve_version(settings, ui).await?;
    let tree = if settings.any_build() {
        let version = source::version::of_tree(ui, &settings.k8s_dir, &configured).await?;
        ui.note(format!(
            "source tree {}: {} ({})",
            settings.k8s_dir.display(),
            version.version(),
            version.how
        ));
        Some(TreeChoice {
            version,
            server: settings.build_hyperkube,
        })
    } else {
        None
    };
    Ok(Versions { configured, tree })
}

fn node_image_plan(settings: &Settings, arch: &str, versions: Option<&Versions>) -> NodeImagePlan {
    NodeImagePlan {
        arch: arch.to_string(),
        debian_mirror: settings.debian_mirror.clone(),
        kubernetes: versions.map(|versions| KubernetesContent {
            binaries: BinaryPlan {
                version: versions.configured.clone(),
                arch: arch.to_string(),
                source: settings.kubernetes_source,
                release_url: settings.release_url.clone(),
                kubeadm_url: settings.kubeadm_download.clone(),
                hyperkube_url: settings.hyperkube_download.clone(),
                kubectl_url: settings.kubectl_download.clone(),
                tree: versions.tree.as_ref().map(|tree| TreeBuild {
                    dir: settings.k8s_dir.clone(),
                    kubeadm: settings.build_kubeadm,
                    server: settings.build_hyperkube,
                    kubectl: settings.build_kubectl,
                    stamp: tree.version.stamp.clone(),
                }),
            },
            image_source: settings.image_source,
            image_repository: settings.image_repository.clone(),
        }),
    }
}

async fn ensure_node_image<E: Engine>(
    engine: &E,
    ui: &Ui,
    settings: &Settings,
    plan: &NodeImagePlan,
    reuse: node_image::Reuse,
) -> Result<String> {
    let cache = Cache::new(&settings.cache_dir);
    let build = node_image::Build {
        engine,
        ui,
        cache: &cache,
        plan,
    };
    node_image::ensure(&build, reuse)
        .await
        .map_err(|e| explain_no_space(e.into(), settings, engine, "building the node image"))
}

/// A failure for want of space (as its messages say, or as a build
/// abandoned on a full cache shows) said as such; others as they are.
fn explain_no_space<E: Engine>(
    e: anyhow::Error,
    settings: &Settings,
    engine: &E,
    doing: &str,
) -> anyhow::Error {
    let failure = crate::engine::space::no_space(e.as_ref()).or_else(|| {
        artifacts::cache::abandoned_on_full_filesystem().map(|_| crate::engine::space::NoSpace {
            path: None,
            in_engine: false,
        })
    });
    match failure {
        Some(f) => say_what_is_full(e, &f, settings, engine, doing),
        None => e,
    }
}

/// Puts in front of a failure for want of space which disk filled up: the
/// engine's, the cache's (naming the setting and where it came from), or
/// the one holding the file the messages name.
fn say_what_is_full<E: Engine>(
    e: anyhow::Error,
    failure: &crate::engine::space::NoSpace,
    settings: &Settings,
    engine: &E,
    doing: &str,
) -> anyhow::Error {
    if failure.in_engine {
        return e.context(format!(
            "{} while {doing}",
            crate::engine::ran_out_of_space(engine)
        ));
    }
    let cache = &settings.cache_dir;
    let path = failure.path.as_deref();
    // A tool that failed in a cache entry's staging directory while that
    // filesystem was full ran out there, whatever path it names (debootstrap
    // names the new system's, as seen from inside it).
    let cache_file = match (path, artifacts::cache::abandoned_on_full_filesystem()) {
        (Some(p), _) if p.starts_with(cache) => Some(p.to_path_buf()),
        (_, Some(staging)) if staging.starts_with(cache) => Some(staging),
        _ => None,
    };
    match (cache_file, path) {
        (Some(file), _) => {
            let key = crate::settings::Key::CacheDir;
            let def = key.def();
            e.context(format!(
                "no space left on device writing {}: the cache's filesystem is full ({}, {} from \
                 {}); free space there, or point {} (--{}, {}) at a larger filesystem",
                file.display(),
                cache.display(),
                def.key,
                settings.provenance.source(key),
                def.key,
                def.flag,
                def.env()
            ))
        }
        (None, Some(p)) => e.context(format!(
            "no space left on device writing {0}: the filesystem of {0} is full",
            p.display()
        )),
        (None, None) => e.context("no space left on device: a filesystem is full"),
    }
}

/// `build node-image`: made again when the settings' inputs changed, or
/// with `force` always.
pub async fn build_node_image(
    settings: &Settings,
    ui: &Ui,
    kind: NodeImageKind,
    force: bool,
) -> Result<()> {
    let engine = connect(settings, ui).await?;
    let arch = node_arch(settings, engine.info());
    let versions = match kind {
        NodeImageKind::Full => Some(versions(settings, ui).await?),
        NodeImageKind::Bare => None,
    };
    let start = Instant::now();
    let plan = node_image_plan(settings, &arch, versions.as_ref());
    let reuse = if force {
        node_image::Reuse::Never
    } else {
        node_image::Reuse::SameInputs
    };
    let image = ensure_node_image(&engine, ui, settings, &plan, reuse).await?;
    ui.info(format!(
        "Node image {} is ready ({}).",
        image,
        seconds(start.elapsed())
    ));
    output::line(&image)?;
    Ok(())
}

fn print_hints(plan: &ClusterPlan) -> Result<(), output::WriteError> {
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
fn keep_home_private(settings: &Settings, plan: &ClusterPlan, ui: &Ui) {
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
fn refuse_unavailable(settings: &Settings) -> Result<()> {
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
fn refuse_unservable(settings: &Settings, info: &EngineInfo) -> Result<()> {
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
    let engine = connect(settings, ui).await?;
    refuse_unservable(settings, engine.info())?;
    let _lock = lock_cluster(settings, ui, &engine, "up").await?;
    up_locked(settings, ui, &engine).await
}

/// `up` for a caller that holds the cluster's lock (taking it again would
/// wait for itself: flock locks belong to open files, not processes).
async fn up_locked(settings: &Settings, ui: &Ui, engine: &Docker) -> Result<()> {
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
    let image_plan = node_image_plan(settings, &arch, Some(&versions));
    // A node image untagged under its snapshot is tagged again, not rebuilt.
    let reference = node_image::node_image_reference(&plan.kubernetes_version.to_string(), &arch);
    lifecycle::retag_orphaned_node_image(Ctx::new(engine, &plan, ui), &reference, &arch).await?;
    let image = ensure_node_image(
        engine,
        ui,
        settings,
        &image_plan,
        node_image::Reuse::AnyForVersion,
    )
    .await?;
    let cx = Ctx::new(engine, &plan, ui);
    let id = engine
        .inspect_image(&image)
        .await?
        .map(|i| i.id)
        .with_context(|| format!("node image {image} vanished"))?;
    let start = Instant::now();
    let node_image = NodeImageRef {
        reference: image,
        id,
        arch: arch.clone(),
    };
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
    if outcome != UpOutcome::AlreadyRunning {
        ui.info(format!(
            "Cluster {:?} is up: {} node{}, Kubernetes {}, {} in {}.",
            plan.name,
            plan.nodes.len(),
            if plan.nodes.len() == 1 { "" } else { "s" },
            plan.kubernetes_version,
            match outcome {
                UpOutcome::Restored => "restored",
                UpOutcome::Repaired => "repaired",
                _ => "created",
            },
            seconds(start.elapsed())
        ));
    }
    print_hints(&plan)?;
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

pub async fn down(settings: &Settings, ui: &Ui) -> Result<()> {
    let engine = connect(settings, ui).await?;
    let _lock = lock_cluster(settings, ui, &engine, "down").await?;
    let plan = plan_without_version(settings);
    lifecycle::down(Ctx::new(&engine, &plan, ui)).await?;
    Ok(())
}

/// `clean`; `all` also removes node images and the build cache.
pub async fn clean(settings: &Settings, ui: &Ui, all: bool) -> Result<()> {
    let engine = connect(settings, ui).await?;
    let _lock = lock_cluster(
        settings,
        ui,
        &engine,
        if all { "clean --all" } else { "clean" },
    )
    .await?;
    let plan = plan_without_version(settings);
    let step = ui.step(format!(
        "Removing cluster {:?}: containers, snapshot, volumes, network",
        plan.name
    ));
    lifecycle::clean(Ctx::new(&engine, &plan, ui)).await?;
    // Node images replaced by newer builds while this cluster used them.
    node_image::remove_superseded(&engine).await?;
    step.done();
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
    let plan = plan_without_version(settings);
    let dir = match dir {
        Some(d) => d,
        None => tempfile::Builder::new()
            .prefix("local-cluster-logs-")
            .tempdir()?
            .keep(),
    };
    let step = ui.step(format!("Collecting logs into {}", dir.display()));
    let files = crate::ops::logs::export(Ctx::new(&engine, &plan, ui), &dir).await?;
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

/// `registry`: start the cluster's local registry if needed, make it a
/// mirror of `mirrors`, configure the nodes, and say how to use it.
pub async fn registry(settings: &Settings, ui: &Ui, mirrors: Vec<String>) -> Result<()> {
    let engine = connect(settings, ui).await?;
    let plan = plan_without_version(settings);
    let cx = Ctx::new(&engine, &plan, ui);
    let cache = Cache::new(&settings.cache_dir);
    let image = crate::registry::ImagePlan {
        source: settings.image_source,
        cache: &cache,
    };
    let step = ui.step(format!("Starting the registry of cluster {:?}", plan.name));
    let reg = crate::registry::ensure(cx, settings.registry_port, &image).await?;
    for upstream in &mirrors {
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
    let plan = plan_without_version(settings);
    let cx = Ctx::new(&engine, &plan, ui);
    let pushed = match archive {
        None => {
            let step = ui.step(format!("Pushing {} to the registry", images.join(", ")));
            let pushed = crate::registry::push(cx, &images).await?;
            step.done();
            pushed
        }
        Some(archive) => {
            let step = ui.step(format!(
                "Pushing the images of {} to the registry",
                archive.display()
            ));
            let registry = crate::registry::running(cx).await?;
            let pushed = crate::registry::push_archive(cx, &registry, &archive, &images).await?;
            step.done();
            pushed
        }
    };
    for name in pushed {
        output::line(name)?;
    }
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
    let plan = plan_without_version(settings);
    // An image built on this machine is in the local engine, not the remote
    // one; without a local engine only the remote's images can be loaded.
    let local = if engine.endpoint().is_remote() {
        local_engine(ui).await
    } else {
        None
    };
    let mut what = request.images.clone();
    what.extend(request.archives.iter().map(|a| a.display().to_string()));
    let step = ui.step(format!("Loading {} into the nodes", what.join(", ")));
    crate::ops::load::load_images(Ctx::new(&engine, &plan, ui), &request, local.as_ref()).await?;
    step.done();
    Ok(())
}

/// The engine on this machine's default socket, when there is one.
async fn local_engine(ui: &Ui) -> Option<Docker> {
    let endpoint = crate::engine::endpoint::local();
    match Docker::connect_to(endpoint, &[]).await {
        Ok(engine) => Some(engine),
        Err(e) => {
            ui.note(format!("no local Docker engine to take images from: {e}"));
            None
        }
    }
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

    #[test]
    fn a_full_disk_is_named_with_the_setting_that_chose_it() {
        let settings = crate::cluster::tests::settings(&[("K8S_DIND_CACHE_DIR", "/c")]);
        let engine = crate::engine::fake::FakeEngine::new();
        let said = |path: Option<&str>, in_engine: bool| {
            let failure = crate::engine::space::NoSpace {
                path: path.map(Into::into),
                in_engine,
            };
            let e = anyhow::anyhow!("the tool's own message");
            crate::error::chain(
                say_what_is_full(e, &failure, &settings, &engine, "doing it").as_ref(),
            )
        };
        assert_eq!(
            said(Some("/c/base/.x/rootfs.tar.gz"), false),
            "no space left on device writing /c/base/.x/rootfs.tar.gz: the cache's filesystem \
             is full (/c, cacheDir from env K8S_DIND_CACHE_DIR); free space there, or point \
             cacheDir (--cache-dir, K8S_DIND_CACHE_DIR) at a larger filesystem: the tool's own \
             message"
        );
        assert_eq!(
            said(Some("/root/.cache/go-build/ab"), false),
            "no space left on device writing /root/.cache/go-build/ab: the filesystem of \
             /root/.cache/go-build/ab is full: the tool's own message"
        );
        assert_eq!(
            said(Some("/var/lib/docker/tmp/x"), true),
            "the Docker engine at unix:///var/run/docker.sock (from fake) ran out of space (its \
             data root /var/lib/docker) while doing it: the tool's own message"
        );
    }

    #[test]
    fn nodes_take_the_engines_architecture_unless_told_otherwise() {
        // An engine on another machine (remote, or an arm64 laptop) decides
        // what the node image is built for: its nodes run there.
        let info = EngineInfo {
            arch: "arm64".into(),
            ..Default::default()
        };
        let settings = crate::cluster::tests::settings(&[]);
        assert_eq!(node_arch(&settings, &info), "arm64");
        let settings = crate::cluster::tests::settings(&[("K8S_DIND_ARCH", "s390x")]);
        assert_eq!(node_arch(&settings, &info), "s390x");
    }
}
